import type { ServerResponse } from 'node:http';
import type { Sink } from '../sessions/sink.js';

/**
 * A long-lived HTTP response (Server-Sent Events or newline-delimited JSON) as a session sink.
 * What a session queued in one turn arrives joined, so each flush costs one chunked-encoding frame.
 */
export class HttpStreamSink implements Sink {
  readonly answersPings = false;
  /**
   * SSE only: the session's cursor after what is being written. When it changed, an id-only
   * event follows the chunks; it sets the browser's Last-Event-ID without dispatching an event, so
   * one shared encoding of each publication serves sessions on any mix of channels.
   */
  cursor: (() => string | undefined) | undefined;
  private lastCursor: string | undefined;

  constructor(private readonly res: ServerResponse) {}

  write(bytes: Buffer): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    const cursor = this.cursor?.();
    if (cursor === undefined || cursor === this.lastCursor) {
      this.res.write(bytes);
      return;
    }
    this.lastCursor = cursor;
    // Corked, both writes leave as one chunk of the chunked encoding.
    this.res.cork();
    this.res.write(bytes);
    this.res.write(`id: ${cursor}\n\n`);
    this.res.uncork();
  }

  bufferedBytes(): number {
    // Over HTTP/2 the response's own buffer is all that is this client's: the socket carries other streams too.
    return this.res.writableLength + (this.res.req.httpVersionMajor === 2 ? 0 : (this.res.socket?.writableLength ?? 0));
  }

  ping(): void {}

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }

  destroy(): void {
    this.res.destroy();
  }
}

export const streamContentTypes = {
  sse: 'text/event-stream; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
} as const;

/** Starts a streaming response with headers that keep proxies from buffering or caching it. */
export function startStream(res: ServerResponse, contentType: string, prelude?: Buffer): void {
  const headers: Record<string, string> = { 'content-type': contentType, 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' };
  // HTTP/2 has no Connection header (a stream is kept open by not ending it).
  if (res.req.httpVersionMajor < 2) headers.connection = 'keep-alive';
  res.writeHead(200, headers);
  res.socket?.setNoDelay(true);
  res.socket?.setTimeout(0);
  if (prelude) res.write(prelude);
  else res.flushHeaders();
}
