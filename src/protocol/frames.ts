import { SwitchboardError, type ErrorCode } from './errors.js';
import type { LimitName } from './limits.js';
import { jsonNestedDeeperThan, jsonTooDeep } from './json-depth.js';
import { maxBatchFrames, type ClientFrame, type FrameId, type Position, type ServerFrame } from './types.js';

/** Parsing client frames and encoding server frames; their shapes are defined in types.ts, shared with the client SDK. */

export { maxBatchFrames, type ClientFrame, type FrameId, type ServerFrame } from './types.js';

/** A frame that failed validation, with the id it carried (if any) so the error reply can be correlated. */
export class FrameError extends SwitchboardError {
  readonly frameId: FrameId | undefined;
  /** The limit (switchboard_limit_hits_total label) this refusal enforces, counted when it is answered. */
  readonly limit: LimitName | undefined;

  constructor(code: ErrorCode, message: string, frameId?: FrameId, limit?: LimitName) {
    super(code, message);
    this.frameId = frameId;
    this.limit = limit;
  }
}

/**
 * Parses one WebSocket text message: a frame object or an array of them. Invalid items become
 * FrameErrors; a message nested deeper than `maxDepth` is one FrameError, refused before parsing.
 */
export function parseClientMessage(text: string, maxDepth: number): (ClientFrame | FrameError)[] {
  if (jsonNestedDeeperThan(text, maxDepth)) return [new FrameError('bad_request', jsonTooDeep(maxDepth).message, undefined, 'json_depth')];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [new FrameError('bad_request', 'frame is not valid JSON')];
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return [new FrameError('bad_request', 'empty batch')];
    if (value.length > maxBatchFrames) {
      return [new FrameError('too_large', `a batch holds at most ${maxBatchFrames} frames`)];
    }
    return value.map(validateFrame);
  }
  return [validateFrame(value)];
}

function validateFrame(value: unknown): ClientFrame | FrameError {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return new FrameError('bad_request', 'frame must be a JSON object');
  }
  const frame = value as Record<string, unknown>;
  const id = frame.id;
  if (id !== undefined && !(typeof id === 'number' && Number.isFinite(id)) && !(typeof id === 'string' && id.length <= 64)) {
    return new FrameError('bad_request', 'id must be a number or a string of at most 64 characters');
  }
  const fail = (message: string) => new FrameError('bad_request', message, id as FrameId | undefined);
  switch (frame.type) {
    case 'subscribe':
      if (typeof frame.channel !== 'string') return fail('subscribe needs a channel');
      if (frame.since !== undefined && !isPosition(frame.since)) {
        return fail('since must be {"offset": integer >= 0, "epoch": string}');
      }
      if (frame.token !== undefined && typeof frame.token !== 'string') return fail('token must be a string');
      return frame as ClientFrame;
    case 'unsubscribe':
      if (typeof frame.channel !== 'string') return fail('unsubscribe needs a channel');
      return frame as ClientFrame;
    case 'publish':
      if (typeof frame.channel !== 'string') return fail('publish needs a channel');
      if (frame.data === undefined) return fail('publish needs data');
      return frame as ClientFrame;
    case 'send':
      if (frame.data === undefined) return fail('send needs data');
      return frame as ClientFrame;
    case 'rpc':
      if (typeof frame.method !== 'string') return fail('rpc needs a method');
      return frame as ClientFrame;
    case 'presence':
      if (typeof frame.channel !== 'string') return fail('presence needs a channel');
      return frame as ClientFrame;
    case 'refresh':
    case 'connect':
      if (typeof frame.token !== 'string') return fail(`${frame.type} needs a token`);
      return frame as ClientFrame;
    case 'ping':
      return frame as ClientFrame;
    case undefined:
      return fail('frame needs a type');
    default:
      return fail(`unknown frame type ${JSON.stringify(String(frame.type)).slice(0, 80)}`);
  }
}

function isPosition(value: unknown): value is Position {
  if (value === null || typeof value !== 'object') return false;
  const { offset, epoch } = value as Record<string, unknown>;
  return Number.isSafeInteger(offset) && (offset as number) >= 0 && typeof epoch === 'string' && epoch.length <= 64;
}

export function errorReply(err: SwitchboardError, id?: FrameId): ServerFrame {
  return { type: 'reply', id, error: { code: err.code, message: err.message } };
}

/**
 * The JSON text of a publication in the native protocol, built by string concatenation so the
 * data is serialised exactly once per publication.
 */
export function messageJson(channelJson: string, dataJson: string, positionJson: string): string {
  return `{"type":"message","channel":${channelJson},"data":${dataJson}${positionJson}}`;
}

/** `,"offset":N,"epoch":"E"` for publications of channels with history, '' otherwise. */
export function positionJson(offset: number | undefined, epoch: string | undefined): string {
  return offset === undefined ? '' : `,"offset":${offset},"epoch":${JSON.stringify(epoch)}`;
}
