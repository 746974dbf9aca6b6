/**
 * One buffer that sessions build their bytes of a turn in, one session after the other, when the
 * bytes are theirs alone (GraphQL batches). A socket write the kernel takes whole keeps no
 * reference to its buffer, so the next session reuses the same memory: no allocation and no
 * garbage per session and turn. Only a write the socket had to keep costs a new buffer.
 */
const scratchSize = 16 * 1024;

let scratch = Buffer.allocUnsafeSlow(scratchSize);

/** `size` bytes of the scratch buffer; larger requests get a buffer of their own. */
export function scratchBytes(size: number): Buffer {
  return size > scratchSize ? Buffer.allocUnsafeSlow(size) : scratch.subarray(0, size);
}

/** These bytes are still in use (a socket kept them): if they are the scratch buffer's, the next ones go elsewhere. */
export function scratchKept(bytes: Buffer): void {
  if (bytes.buffer === scratch.buffer) scratch = Buffer.allocUnsafeSlow(scratchSize);
}
