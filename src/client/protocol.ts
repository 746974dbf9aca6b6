/** The JSON shapes of the client protocol, as the SDK sends and receives them (docs/protocol.md). */

/** A stream position: the last publication a client has on a channel with history. */
export interface Position {
  offset: number;
  epoch: string;
}

export type FrameId = number | string;

/** Frames the SDK sends. */
export type ClientFrame =
  | { type: 'subscribe'; id?: FrameId; channel: string; since?: Position; token?: string }
  | { type: 'unsubscribe'; id?: FrameId; channel: string }
  | { type: 'publish'; id?: FrameId; channel: string; data: unknown }
  | { type: 'send'; id?: FrameId; data: unknown }
  | { type: 'rpc'; id?: FrameId; method: string; data: unknown }
  | { type: 'presence'; id?: FrameId; channel: string }
  | { type: 'refresh'; id?: FrameId; token: string }
  | { type: 'ping'; id?: FrameId };

/** Frames the server sends. */
export type ServerFrame =
  | { type: 'welcome'; session: string; user: string; node: string; heartbeat: number; channels: string[]; sessionSecret?: string }
  | { type: 'message'; channel?: string; data: unknown; offset?: number; epoch?: string }
  | { type: 'reply'; id?: FrameId; data?: unknown; error?: { code: string; message: string } }
  | { type: 'subscribed'; id?: FrameId; channel: string; recovered?: boolean; offset?: number; epoch?: string; replayed?: number }
  | { type: 'unsubscribed'; id?: FrameId; channel: string; reason?: string }
  | { type: 'pong'; id?: FrameId }
  | { type: 'join' | 'leave'; channel: string; user: string; session: string }
  | { type: 'reconnect'; after: number; reason: string }
  | { type: 'refresh'; within: number }
  | { type: 'disconnect'; code: number; reason: string };

/** Most frames the server takes in one batch. */
export const maxBatchFrames = 100;

/** `channel~offset~epoch` entries joined by `,`: the cursor of SSE, HTTP streaming and long-polling. */
export function encodeCursor(positions: Iterable<[string, Position]>): string {
  const parts: string[] = [];
  for (const [channel, { offset, epoch }] of positions) parts.push(`${channel}~${offset}~${epoch}`);
  return parts.join(',');
}

export function decodeCursor(text: string): Map<string, Position> {
  const positions = new Map<string, Position>();
  for (const part of text.split(',')) {
    const [channel, offset, epoch] = part.split('~');
    if (channel && offset !== undefined && epoch !== undefined) positions.set(channel, { offset: Number(offset), epoch });
  }
  return positions;
}

/** Whether a value parsed from the wire looks like a server frame. */
export function isServerFrame(value: unknown): value is ServerFrame {
  return value !== null && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string';
}
