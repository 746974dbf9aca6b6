/**
 * Buffers for the bytes a session writes once, cut from large shared slabs. `Buffer.allocUnsafe`
 * takes sizes under 4 KiB from Node's 8 KiB pool but gives every larger one an ArrayBuffer of its
 * own, which costs an allocation and garbage-collector work per session and turn when a fan-out
 * batches many messages. A slab is let go when the last buffer cut from it is.
 */
const slabBytes = 1024 * 1024;
/** Larger requests get a buffer of their own: they are rare, and would waste a slab's rest. */
const largestCut = slabBytes / 8;

let slab = Buffer.allocUnsafeSlow(slabBytes);
let used = 0;

export function slabBuffer(size: number): Buffer {
  if (size > largestCut) return Buffer.allocUnsafeSlow(size);
  if (used + size > slabBytes) {
    slab = Buffer.allocUnsafeSlow(slabBytes);
    used = 0;
  }
  const bytes = slab.subarray(used, used + size);
  // Aligned to 8 bytes, as Node's own pool does.
  used += (size + 7) & ~7;
  return bytes;
}
