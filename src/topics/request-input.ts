import { parseDuration } from '../config/values.js';
import { SwitchboardError } from '../protocol/errors.js';

/** Parsing of untrusted request values (HTTP routes, streaming pull) into what TopicService takes. */

/** A time as ms since the epoch from a number (ms) or an ISO 8601 string. */
export function parseTime(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new SwitchboardError('bad_request', `${what} must be an ISO 8601 time or ms since the epoch`);
}

/** A delay from ms or a duration string (`500ms`, `30s`, `5m`, `2h`). */
export function parseDelay(value: unknown): number {
  try {
    return parseDuration(value);
  } catch {
    throw new SwitchboardError('bad_request', 'delay must be ms or a duration such as 30s');
  }
}

/** The `ackIds` of an ack, nack or deadline change: a non-empty list of strings. */
export function parseAckIds(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((id) => typeof id === 'string'))
    throw new SwitchboardError('bad_request', 'ackIds must be a non-empty list of strings');
  return value;
}
