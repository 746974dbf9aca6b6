import type { StreamPosition } from '../brokers/broker.js';
import { SwitchboardError } from '../errors.js';

/**
 * A cursor names a stream position per channel, so a client resuming on any node (SSE
 * Last-Event-ID, long-poll) gets exactly what it missed: `channel~offset~epoch` entries joined by
 * `,`. Neither `~` nor `,` may appear in a channel name.
 */
export type Cursor = Map<string, StreamPosition>;

const maxCursorLength = 16_384;

export function encodeCursor(positions: Iterable<[string, StreamPosition]>): string {
  const parts: string[] = [];
  for (const [channel, { offset, epoch }] of positions) parts.push(`${channel}~${offset}~${epoch}`);
  return parts.join(',');
}

export function decodeCursor(text: string): Cursor {
  if (text.length > maxCursorLength) throw new SwitchboardError('bad_request', 'cursor is too long');
  const cursor: Cursor = new Map();
  if (text === '') return cursor;
  for (const part of text.split(',')) {
    const [channel, offsetText, epoch, extra] = part.split('~');
    const offset = Number(offsetText);
    if (!channel || extra !== undefined || epoch === undefined || !/^[A-Za-z0-9]*$/.test(epoch) || !Number.isSafeInteger(offset) || offset < 0) {
      throw new SwitchboardError('bad_request', 'cursor is malformed; pass back the cursor the server gave');
    }
    cursor.set(channel, { offset, epoch });
  }
  return cursor;
}
