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

function flushAll(): void {
  // Sessions marked while flushing (e.g. a close frame) are appended and flushed in this same pass.
  for (let i = 0; i < dirty.length; i++) dirty[i]!.flush();
  dirty.length = 0;
  scheduled = false;
}

export function scheduleFlush(target: Flushable): void {
  dirty.push(target);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
}
