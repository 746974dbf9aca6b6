import { isServerFrame, maxBatchFrames, type ClientFrame } from '../protocol/types.js';
import type { Transport, TransportContext } from './transport.js';

/** The part of the WebSocket API the SDK uses: browsers' WebSocket and the `ws` package both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}

/** A WebSocket constructor such as the browser's `WebSocket` or `import { WebSocket } from 'ws'`. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

const open = 1;

/** The native protocol over `GET /ws`. The token travels as `?token=` because browsers cannot set headers on a WebSocket. */
export class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  private readonly socket: WebSocketLike;
  private done = false;

  constructor(
    Socket: WebSocketConstructor,
    private readonly context: TransportContext,
  ) {
    const url = new URL('/ws', context.baseUrl.replace(/^http/, 'ws'));
    if (context.token) url.searchParams.set('token', context.token);
    this.socket = new Socket(url.toString());
    this.socket.onmessage = ((event: { data: unknown }) => this.receive(event.data)) as (event: never) => void;
    this.socket.onclose = ((event: { code: number; reason: string }) => this.finish(event.code, event.reason)) as (event: never) => void;
    // An error is always followed by close, which reports it.
    this.socket.onerror = () => {};
  }

  send(frames: ClientFrame[]): void {
    if (this.socket.readyState !== open) return;
    for (let i = 0; i < frames.length; i += maxBatchFrames) {
      const batch = frames.slice(i, i + maxBatchFrames);
      this.socket.send(JSON.stringify(batch.length === 1 ? batch[0] : batch));
    }
  }

  close(): void {
    this.done = true;
    try {
      this.socket.close(1000, 'client closed');
    } catch {
      // Closing a socket that is still connecting throws in some implementations; it is dropped either way.
    }
  }

  private receive(data: unknown): void {
    if (this.done || (typeof data !== 'string' && !(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data))) return;
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return;
    }
    for (const frame of Array.isArray(value) ? value : [value]) if (isServerFrame(frame)) this.context.events.frame(frame);
  }

  private finish(code: number, reason: string): void {
    if (this.done) return;
    this.done = true;
    this.context.events.closed({ code, reason });
  }
}
