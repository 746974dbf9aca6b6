import type { Readable } from 'node:stream';

/** An outbound call's answer was larger than the caller allows; the rest was not read. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`answer is larger than ${limit} bytes`);
  }
}

/** Reads an HTTP answer body up to `limit` bytes; above that it stops reading, destroys the stream and throws BodyTooLarge. */
export async function readBody(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new BodyTooLarge(limit);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    body.destroy();
    throw err;
  }
  return Buffer.concat(chunks, size);
}

/** undici's codes for a connect, headers or body timeout. */
const timeoutCodes = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Whether an outbound call failed because it ran out of time (its AbortSignal, or undici's own timeouts). */
export function isTimeout(err: unknown): boolean {
  const { name, code } = (err ?? {}) as { name?: string; code?: string };
  return name === 'TimeoutError' || name === 'AbortError' || (code !== undefined && timeoutCodes.has(code));
}
