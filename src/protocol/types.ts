/**
 * The client protocol (docs/protocol.md) as the server and the client SDK both speak it: frames,
 * error and close codes, cursors. This module imports nothing, so the SDK can ship it to browsers.
 */

/** A stream position: the last publication a client has on a channel with history. */
export interface Position {
  offset: number;
  epoch: string;
}

export type FrameId = number | string;

/** Every error a client or an API caller can see; HTTP status and close code come from it (src/protocol/errors.ts). */
export const errorCodes = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'too_large',
  'limit_exceeded',
  'rate_limited',
  'slow_consumer',
  'unavailable',
  'backend_error',
  'timeout',
  'internal',
  'bad_path',
  'forbidden_target',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

/** Close codes that are not errors. */
export const CloseCodes = {
  goingAway: 1001,
  /** The server asks the client to reconnect (drain, lifetime reached). */
  reconnect: 4000,
  /** No heartbeat answer within the grace period. */
  idleTimeout: 4004,
  /** The credentials expired and no valid new token came within the refresh grace time. */
  tokenExpired: 4005,
  /** The token or user was revoked. */
  revoked: 4506,
} as const;

/** Close codes 4500-4999 tell the client not to reconnect; 4000-4499 to reconnect. */
export function forbidsReconnect(closeCode: number): boolean {
  return closeCode >= 4500 && closeCode <= 4999;
}

/** Client -> server frames. */
export type ClientFrame =
  | { type: 'subscribe'; id?: FrameId; channel: string; since?: Position; token?: string }
  /** The token of a `/ws` connection that could not put it into the request; only as the first frame. */
  | { type: 'connect'; id?: FrameId; token: string }
  | { type: 'unsubscribe'; id?: FrameId; channel: string }
  | { type: 'publish'; id?: FrameId; channel: string; data: unknown }
  | { type: 'send'; id?: FrameId; data: unknown }
  | { type: 'rpc'; id?: FrameId; method: string; data: unknown }
  | { type: 'refresh'; id?: FrameId; token: string }
  | { type: 'presence'; id?: FrameId; channel: string }
  | { type: 'ping'; id?: FrameId };

/** Most frames in one batch (a JSON array of frames). */
export const maxBatchFrames = 100;

/** Server -> client frames. */
export type ServerFrame =
  | {
      type: 'welcome';
      session: string;
      user: string;
      node: string;
      heartbeat: number;
      channels: string[];
      /** One-way transports (SSE, HTTP streaming): the secret POST /frames?session= must carry. */
      sessionSecret?: string;
    }
  | { type: 'reply'; id?: FrameId; data?: unknown; error?: { code: ErrorCode; message: string } }
  | {
      type: 'subscribed';
      id?: FrameId;
      channel: string;
      /** With history: whether every missed publication follows (false: reload state). */
      recovered?: boolean;
      /** With history: the stream position after the publications that follow this frame. */
      offset?: number;
      epoch?: string;
      /** With history: how many replayed publications follow as message frames. */
      replayed?: number;
    }
  | { type: 'unsubscribed'; id?: FrameId; channel: string; reason?: string }
  | { type: 'pong'; id?: FrameId }
  /**
   * A publication on `channel` (with `offset` and `epoch` on channels with history), or without a
   * channel a message sent by the server API to this session or its user directly.
   */
  | { type: 'message'; channel?: string; data: unknown; offset?: number; epoch?: string }
  | { type: 'join' | 'leave'; channel: string; user: string; session: string }
  | { type: 'reconnect'; after: number; reason: string }
  /** The session's credentials expired: send `refresh {token}` within `within` ms. */
  | { type: 'refresh'; within: number }
  | { type: 'disconnect'; code: number; reason: string };

/** Whether a value parsed from the wire looks like a server frame. */
export function isServerFrame(value: unknown): value is ServerFrame {
  return value !== null && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string';
}

/**
 * A cursor names a stream position per channel, so a client resuming on any node (SSE
 * Last-Event-ID, long-poll) gets exactly what it missed: `channel~offset~epoch` entries joined by
 * `,`. Neither `~` nor `,` may appear in a channel name.
 */
export type Cursor = Map<string, Position>;

/** The longest cursor either side accepts. */
export const maxCursorLength = 16_384;

export function encodeCursor(positions: Iterable<[string, Position]>): string {
  const parts: string[] = [];
  for (const [channel, { offset, epoch }] of positions) parts.push(`${channel}~${offset}~${epoch}`);
  return parts.join(',');
}

/** The positions of a cursor, or undefined when any entry is malformed or the text is too long: a cursor is taken whole or not at all. */
export function parseCursor(text: string): Cursor | undefined {
  if (text.length > maxCursorLength) return undefined;
  const cursor: Cursor = new Map();
  if (text === '') return cursor;
  for (const part of text.split(',')) {
    const [channel, offsetText, epoch, extra] = part.split('~');
    const offset = Number(offsetText);
    if (!channel || extra !== undefined || epoch === undefined || !/^[A-Za-z0-9]*$/.test(epoch) || !Number.isSafeInteger(offset) || offset < 0) return undefined;
    cursor.set(channel, { offset, epoch });
  }
  return cursor;
}
