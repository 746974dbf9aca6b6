/** What an operation of the server API is to OpenAPI, and the example values its sections share. */
import type { ErrorCode } from '../protocol/errors.js';
import { schemas, type Schema } from './openapi-schemas.js';

const { str, int } = schemas;

/** Who may call a route: an admin key, a publish or admin key, an application key (topics), anyone. */
export type Access = 'admin' | 'publish' | 'application' | 'none';

export interface ApiOperation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Fastify's pattern, `:name` for a path parameter. */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  /** Application key scopes that may call a topic route (besides a server admin key). */
  scopes?: string[];
  query?: Record<string, Schema>;
  body?: Schema;
  /** A route whose body may be left out. */
  bodyOptional?: boolean;
  requestExample?: unknown;
  status?: number;
  response?: Schema;
  example?: unknown;
  /** Set for answers that are not JSON documents. */
  contentType?: string;
  errors?: ErrorCode[];
  /** Routes that exist only with the service gateway, the Push-compatible endpoints or the admin console on. */
  when?: keyof Features;
}

/** Optional parts of the API, on or off by configuration. */
export interface Features {
  gateway: boolean;
  push: boolean;
  admin: boolean;
}

export const session = {
  id: 'dbd4a775-5f7e-4d35-9f2c-0a1b2c3d4e5f',
  user: 'alice',
  remote: '10.0.0.7',
  connectedAt: '2026-12-04T06:00:00.000Z',
  channels: ['news'],
  node: '4f1c2a9b7e3d',
  transport: 'ws',
  context: {},
  messagesSent: 14,
  bytesSent: 1830,
  messagesReceived: 3,
  bytesReceived: 121,
};
export const topic = { application: 'shop', name: 'orders', retentionMs: 604800000, retentionBytes: 0, partitions: 1, grants: [], createdAt: '2026-12-04T06:00:00.000Z' };
export const subscription = {
  application: 'shop',
  name: 'billing',
  topic: 'shop/orders',
  type: 'pull',
  ackDeadlineMs: 30000,
  maxDeliveryAttempts: 5,
  ordered: false,
  createdAt: '2026-12-04T06:00:00.000Z',
};
export const message = {
  id: '0b6f5b0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
  position: '1-0',
  data: { order: 42 },
  attributes: { kind: 'created' },
  publishTime: '2026-12-04T06:00:00.000Z',
};
export const application = {
  id: 'shop',
  source: 'api',
  createdAt: '2026-12-04T06:00:00.000Z',
  quotas: {},
  keys: [{ id: 'k1', scopes: ['publish'], createdAt: '2026-12-04T06:00:00.000Z' }],
};
export const instance = {
  id: 'orders-1',
  service: 'orders',
  url: 'http://10.0.0.9:8080',
  weight: 1,
  metadata: {},
  ttl: 30000,
  state: 'available',
  outstanding: 0,
  ejectedUntil: null,
};
export const name = (what: string) => ({ description: what, ...str() });
export const paged = {
  limit: { type: 'string', pattern: '^[0-9]+$', description: 'at most this many (1 to 1000, default 100)' },
  time: name('read from this time: ISO 8601 or ms since the epoch'),
  position: name('read from this position'),
};
/** limit= and after= of the paged lists (sessions, channels). */
export const pageQuery = {
  limit: { type: 'string', pattern: '^[0-9]+$', description: 'a page of at most this many (1 to 1000), ordered by id or name; without it, the whole list' },
  after: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', description: 'the next cursor of the previous page' },
};
/** What a paged answer adds. */
export const pageFields = { total: int('entries in all pages'), next: { type: ['string', 'null'], description: 'cursor of the next page; null on the last' } };
export const nodeSample = { t: 1796364000000, connections: 3, subscriptions: 5, publications: 12.5, deliveries: 40, errors: 0, cpu: 3.2, rss: 82000000, heapUsed: 31000000 };
export const topicRead = { errors: ['bad_request', 'not_found'] as ErrorCode[] };
export const empty = { status: 204 };
