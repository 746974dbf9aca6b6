/**
 * What the server API answers, as TypeScript types. They mirror the schemas of the OpenAPI
 * document (src/api/openapi-schemas.ts); a test compares their fields with it.
 */

import type { ErrorCode as ApiErrorCode } from '../protocol/errors.js';

/** The stable error codes, as the node defines them. */
export type { ApiErrorCode };

export interface ItemError {
  code: ApiErrorCode;
  message: string;
}

export interface Publication {
  channel: string;
  data: unknown;
}

export interface PublishResult {
  channel: string;
  /** Sessions on the answering node subscribed to the channel. */
  subscribers: number;
  /** The stream position, on channels with history. */
  offset?: number;
  epoch?: string;
}

/** One item of a batch or broadcast: its result, or its own error. */
export type ItemResult = PublishResult | { channel?: unknown; error: ItemError };

export interface Session {
  id: string;
  user: string;
  remote?: string;
  connectedAt?: string;
  channels: string[];
  node: string;
  transport: string;
  context?: Record<string, unknown>;
  /** Traffic of the session (nodes of this version and later). */
  messagesSent?: number;
  bytesSent?: number;
  messagesReceived?: number;
  bytesReceived?: number;
}

export interface PresenceMember {
  session: string;
  user: string;
  [info: string]: unknown;
}

export interface HistoryPublication {
  data?: unknown;
  offset: number;
  epoch: string;
  time: string;
}

export interface History {
  channel: string;
  offset: number;
  epoch: string;
  publications: HistoryPublication[];
}

export interface Revocation {
  jti?: string;
  user?: string;
  expiresAt: string;
  issuedBefore?: string;
}

export interface NewTopicMessage {
  data?: unknown;
  attributes?: Record<string, string>;
  orderingKey?: string;
  /** Left out, the client makes one per message, so a retried publish is stored once. */
  idempotencyKey?: string;
  deliverAt?: string | number;
  delayMs?: number;
}

export interface TopicPublishResult {
  id: string;
  position: string;
  /** True when a message with the same idempotency key was published within topics.idempotencyWindow. */
  duplicate: boolean;
}

export interface TopicMessage {
  id: string;
  position: string;
  data?: unknown;
  attributes?: Record<string, string>;
  orderingKey?: string;
  publishTime: string;
  deliverAt?: string;
}

export interface ReceivedMessage {
  ackId: string;
  attempt: number;
  message: TopicMessage;
}

export interface AckResult {
  ackId: string;
  ok?: true;
  error?: ItemError;
}

export interface ServiceInstance {
  id: string;
  service?: string;
  url: string;
  weight?: number;
  metadata?: Record<string, unknown>;
  ttl?: number;
  state?: 'available' | 'ejected' | 'unhealthy' | 'unknown';
  outstanding?: number;
  ejectedUntil?: number | null;
}

export interface Service {
  name: string;
  down?: boolean;
  instances: ServiceInstance[];
}

export interface InstanceRegistration {
  url: string;
  id?: string;
  weight?: number;
  metadata?: Record<string, unknown>;
  check?: Record<string, unknown>;
  /** ms; 0 keeps the instance until it is deregistered. */
  ttl?: number;
}
