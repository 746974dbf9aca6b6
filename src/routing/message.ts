import type { FrameId } from '../protocol/frames.js';

/**
 * A client message on its way to a backend: what the backend receives as the JSON body of the
 * POST (docs/routing.md, "The envelope"), besides the attempt number.
 */
export interface RoutedMessage {
  /** Unique per client message and the same on every delivery attempt: backends de-duplicate on it. */
  id: string;
  kind: 'send' | 'rpc';
  /** The rpc method (rpc only). */
  method?: string;
  route: string;
  data: unknown;
  /** The client frame's id: the backend may answer later with it through the API (202 answer). */
  replyTo?: FrameId;
  session: string;
  user: string;
  context: Record<string, unknown>;
  transport: string;
  node: string;
  /** When the node accepted the message, ms since the epoch. */
  time: number;
}

/** The request body: the message and the delivery attempt (1 on the first try). */
export function envelopeJson(message: RoutedMessage, attempt: number): string {
  return JSON.stringify({ ...message, attempt });
}

/** JSON with every non-ASCII character escaped, so it can travel in a header. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The same facts as headers, for backends that route or authorize on headers alone. */
export function envelopeHeaders(message: RoutedMessage, attempt: number): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-switchboard-message-id': message.id,
    'x-switchboard-route': message.route,
    'x-switchboard-session': message.session,
    'x-switchboard-user': asciiJson(message.user).slice(1, -1),
    'x-switchboard-node': message.node,
    'x-switchboard-transport': message.transport,
    'x-switchboard-attempt': String(attempt),
    'x-switchboard-context': asciiJson(message.context),
  };
  if (message.method !== undefined) headers['x-switchboard-method'] = asciiJson(message.method).slice(1, -1);
  if (message.replyTo !== undefined) headers['x-switchboard-reply-to'] = asciiJson(message.replyTo);
  return headers;
}
