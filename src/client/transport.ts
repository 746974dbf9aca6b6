import { encodeCursor, type ClientFrame, type Position, type ServerFrame } from '../protocol/types.js';

/** The ways the SDK can reach a node, in the order it tries them by default. */
export type TransportName = 'websocket' | 'sse' | 'long-poll';

export const defaultTransports: readonly TransportName[] = ['websocket', 'sse', 'long-poll'];

/** How a connection ended, as far as the transport can tell. */
export interface TransportClose {
  /** The WebSocket close code; 1006 when the connection dropped or a stream ended without one. */
  code: number;
  reason: string;
  /** The HTTP status when the node refused the connection with an answer the SDK could read (SSE, long-poll). */
  status?: number;
  /** The error body of that answer. */
  error?: { code?: string; message?: string };
}

export interface TransportEvents {
  frame(frame: ServerFrame): void;
  /** Called once, when the connection is gone for whatever reason other than `close()`. */
  closed(close: TransportClose): void;
}

/** A channel the connection should carry, with the position to resume from. */
export interface ChannelTarget {
  channel: string;
  since?: Position;
}

/** One connection attempt. Frames arrive through TransportEvents. */
export interface Transport {
  readonly name: TransportName;
  /** Bidirectional transports (WebSocket) carry client frames; the others use `POST /frames`. */
  send?(frames: ClientFrame[]): void;
  /** One-way transports name their channels in the URL: reopen with the current channels and positions. */
  rechannel?(): void;
  /** Ends the connection without reporting `closed`. */
  close(): void;
}

/**
 * A one-way transport (SSE, long-poll) whose request names its channels: it reopens the request
 * when they change, and reports `closed` once, for the request that is current.
 */
export abstract class ReopeningTransport implements Transport {
  abstract readonly name: TransportName;
  private abort = new AbortController();
  private done = false;

  constructor(protected readonly context: TransportContext) {
    // Started on the next microtask, once the subclass's own fields are set (unless replaced by then).
    const first = this.abort;
    queueMicrotask(() => {
      if (first === this.abort && !first.signal.aborted) void this.run(first);
    });
  }

  rechannel(): void {
    if (this.done) return;
    this.abort.abort();
    this.abort = new AbortController();
    void this.run(this.abort);
  }

  close(): void {
    this.done = true;
    this.abort.abort();
  }

  /** Carries the channels until the request ends or `abort` is signalled; reports the end through `finish`. */
  protected abstract run(abort: AbortController): Promise<void>;

  protected finish(abort: AbortController, close: TransportClose): void {
    // A request replaced by rechannel() or ended by close() reports nothing.
    if (this.done || abort !== this.abort || abort.signal.aborted) return;
    this.done = true;
    this.context.events.closed(close);
  }
}

/** What every transport needs from the client. */
export interface TransportContext {
  /** http(s)://host:port of the node. */
  baseUrl: string;
  token: string | undefined;
  fetch: typeof fetch;
  /** The channels to carry, read at every (re)open. */
  channels(): ChannelTarget[];
  events: TransportEvents;
}

/** The `Authorization` header for the token, if any. */
export function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** `?channel=a&channel=b&cursor=...` for one-way transports. */
export function channelQuery(targets: ChannelTarget[]): URLSearchParams {
  const query = new URLSearchParams();
  const positions: [string, Position][] = [];
  for (const { channel, since } of targets) {
    query.append('channel', channel);
    if (since) positions.push([channel, since]);
  }
  if (positions.length > 0) query.set('cursor', encodeCursor(positions));
  return query;
}

/** Reads an HTTP error answer's `{"error":{"code","message"}}` body, tolerating anything else. */
export async function errorOf(res: Response): Promise<{ code?: string; message?: string }> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    return body.error ?? { message: res.statusText };
  } catch {
    return { message: res.statusText };
  }
}
