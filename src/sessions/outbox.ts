/**
 * Coalesces writes: sessions that received bytes during this event-loop turn are flushed once,
 * together, right after the turn's I/O callbacks. Everything queued for one socket in a turn goes
 * out as one write.
 */
export interface Flushable {
  flush(): void;
}

const dirty: Flushable[] = [];
let scheduled = false;

/** The parts and bytes of the last join, reused while consecutive sessions queued the same parts. */
let joinedParts: Buffer[] = [];
let joined: Buffer | undefined;

function flushAll(): void {
  // Sessions marked while flushing (e.g. a close frame) are appended and flushed in this same pass.
  for (let i = 0; i < dirty.length; i++) dirty[i]!.flush();
  dirty.length = 0;
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
