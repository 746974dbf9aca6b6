/**
 * Coalesces writes: sessions that received bytes during this event-loop turn are flushed once,
 * together, right after the turn's I/O callbacks. Everything queued for one socket in a turn goes
 * out as one write.
 */
export interface Flushable {
  flush(): void;
}

const dirty: Flushable[] = [];
/** Where the flush in progress has got to in `dirty`. */
let next = 0;
let scheduled = false;
/**
 * Sessions flushed per pass before the event loop gets a turn: Node accepts one new connection
 * per turn, so a flush of every session in one pass makes connecting clients wait for the whole
 * fan-out, once per connection.
 */
const sessionsPerPass = 1024;

/** The parts and bytes of the last join, reused while consecutive sessions queued the same parts. */
let joinedParts: Buffer[] = [];
let joined: Buffer | undefined;

function flushAll(): void {
  // Sessions marked while flushing (e.g. a close frame) are appended and flushed by this same flush.
  const end = Math.min(dirty.length, next + sessionsPerPass);
  for (; next < end; next++) dirty[next]!.flush();
  if (next < dirty.length) {
    setImmediate(flushAll);
    return;
  }
  dirty.length = 0;
  next = 0;
  scheduled = false;
  joinedParts = [];
  joined = undefined;
}

/**
 * The queued parts as one buffer. Subscribers of the same channels queue the very same buffers in
 * a turn, and the hub fills them one after the other, so the join made for one session is reused
 * for the next ones: the copy happens once per turn, not once per session.
 */
export function joinParts(parts: Buffer[], totalBytes: number): Buffer {
  if (joined && parts.length === joinedParts.length) {
    let same = true;
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] !== joinedParts[i]) {
        same = false;
        break;
      }
    }
    if (same) return joined;
  }
  joined = Buffer.concat(parts, totalBytes);
  joinedParts = parts.slice();
  return joined;
}

export function scheduleFlush(target: Flushable): void {
  dirty.push(target);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
}
