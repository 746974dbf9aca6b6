/**
 * Memory that sessions build their bytes of a turn in, one session after the other, when the
 * bytes are theirs alone (GraphQL batches). A socket write the kernel takes whole keeps no
 * reference to its buffer, so the next session reuses the same memory: no allocation and no
 * garbage per session and turn. A write the socket had to keep (a full socket, or TLS, which
 * encrypts later) holds on to its part of the slab, and the next bytes are cut after it.
 */
const slabBytes = 64 * 1024;
/** Larger requests get a buffer of their own: they are rare, and would use up a slab at once. */
const largestCut = slabBytes / 4;

let slab = Buffer.allocUnsafeSlow(slabBytes);
/** Where the slab's free part starts: everything before it is held by sockets. */
let kept = 0;

/** `size` bytes to build a write in; call scratchKept if the write held on to them. */
export function scratchBytes(size: number): Buffer {
  if (size > largestCut) return Buffer.allocUnsafeSlow(size);
  if (kept + size > slabBytes) {
    slab = Buffer.allocUnsafeSlow(slabBytes);
    kept = 0;
  }
  return slab.subarray(kept, kept + size);
}

/** These bytes are still in use (a socket kept them): they are not handed out again. */
export function scratchKept(bytes: Buffer): void {
  // Aligned to 8 bytes, as Node's own pool does.
  if (bytes.buffer === slab.buffer) kept = (bytes.byteOffset + bytes.length + 7) & ~7;
}
