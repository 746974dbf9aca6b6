/** The options, events and results of SwitchboardClient. */
import type { SwitchboardClientError } from './errors.js';
import type { TransportName } from './transport.js';
import type { WebSocketConstructor } from './websocket-transport.js';

/** Options of `new SwitchboardClient(url, options)`. */
export interface ClientOptions {
  /** A JWT for the connection. Use `getToken` instead when tokens expire. */
  token?: string;
  /**
   * Fetches a token: called before the first connection, when the server asks for a new one
   * (`refresh` frame), and before reconnecting when the current one expires within
   * `tokenRefreshMargin` or was refused.
   */
  getToken?: () => Promise<string>;
  /** The transports to try, in order. Default `['websocket', 'sse', 'long-poll']`; `['sse']` forces SSE. */
  transports?: TransportName[];
  /** The WebSocket constructor; default the global `WebSocket` (browsers). In Node 20 pass `WebSocket` from the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** The fetch function; default the global `fetch`. */
  fetch?: typeof fetch;
  /**
   * Send cookies with the SDK's HTTP requests (SSE, long-poll, POST /frames) to a node on another
   * origin (fetch `credentials: 'include'`), for tokens kept in a cookie. The node must list the
   * page's origin in server.allowedOrigins. Default false: same-origin requests only carry cookies.
   */
  withCredentials?: boolean;
  /** Default timeout of `publish`, `send`, `request` and `presence`, in ms. Default 10 000. */
  timeout?: number;
  /** Backoff base: the first reconnect waits up to this long (full jitter). Default 500 ms. */
  minReconnectDelay?: number;
  /** Backoff cap. Default 20 000 ms. */
  maxReconnectDelay?: number;
  /** Fetch a new token before reconnecting when the current one expires within this many ms. Default 10 000. */
  tokenRefreshMargin?: number;
}

/** Options of one request. */
export interface RequestOptions {
  /** Reject with a `timeout` error if no answer comes within this many ms. */
  timeout?: number;
}

/**
 * - `disconnected`: not connected, a reconnect may be scheduled
 * - `connecting`: a connection attempt is under way
 * - `connected`: the server welcomed the session
 * - `closed`: `close()` was called, or the server said not to reconnect (close code 4500-4999)
 */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'closed';

/** The session the server opened, from its `welcome` frame. */
export interface SessionInfo {
  transport: TransportName;
  /** Session id (empty on long-poll, which has no session between polls). */
  session: string;
  /** The authenticated user; '' for anonymous sessions (and on long-poll). */
  user: string;
  /** The node holding the session. */
  node: string;
}

/** Why a connection ended and what happens next. */
export interface DisconnectedEvent {
  /** The close code (docs/protocol.md#close-codes); 1006 when the connection dropped or could not be made. */
  code: number;
  reason: string;
  /** Whether the SDK will reconnect. False for 4500-4999 and after `close()`. */
  reconnect: boolean;
  /** When reconnecting: in how many ms. */
  delay?: number;
}

/** A publication or direct message that no subscription handles: the personal channel, or a message sent to this session or user. */
export interface UnhandledMessage {
  channel?: string;
  data: unknown;
}

/** Events of the client. */
export interface ClientEvents {
  [name: string]: unknown;
  /** Every change of `state`. */
  state: ConnectionState;
  connecting: { attempt: number; transport: TransportName };
  connected: SessionInfo;
  disconnected: DisconnectedEvent;
  message: UnhandledMessage;
  /** Something failed outside a promise the application holds (token refresh, a dropped subscription). */
  error: SwitchboardClientError;
}

/** The answer to a `publish`. */
export interface PublishResult {
  /** Subscribers on the node that the publication reached. */
  subscribers: number;
  /** On channels with history: the publication's position. */
  offset?: number;
  epoch?: string;
}

/** A session present on a channel. */
export interface PresenceMember {
  session: string;
  user: string;
  node: string;
}
