import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Sink } from '../sessions/sink.js';

/**
 * A WebSocket connection as a session sink. Server frames are pre-built by the hub, so they are
 * written straight to the socket: ws only does the handshake, reading, pings and the close handshake.
 */
class WebSocketSink implements Sink {
  readonly answersPings = true;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
  ) {}

  write(bytes: Buffer): void {
    if (this.socket.writable) this.socket.write(bytes);
  }

  bufferedBytes(): number {
    return this.socket.writableLength;
  }

  ping(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
  }

  end(code: number, reason: string): void {
    this.ws.close(code, closeReason(reason));
  }

  destroy(): void {
    this.ws.terminate();
  }
}

/** Most bytes of UTF-8 a close frame's reason may hold (RFC 6455 section 5.5). */
const maxCloseReasonBytes = 123;

/** The reason cut to fit a close frame, at a character boundary; ws throws on a longer one. */
export function closeReason(reason: string): string {
  const bytes = Buffer.from(reason);
  if (bytes.length <= maxCloseReasonBytes) return reason;
  let cut = maxCloseReasonBytes;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut).toString('utf8');
}

export interface WebSocketHandlers {
  /** A connection is open; returns what to do with its messages and its end. */
  open(sink: Sink, req: IncomingMessage): WebSocketSessionHandlers;
}

export interface WebSocketSessionHandlers {
  message(text: string): void;
  badInput(reason: 'binary' | 'invalid_utf8'): void;
  tooLarge(): void;
  activity(): void;
  closed(): void;
}

/** Accepts WebSocket upgrades on paths the node routes here; one instance per wire format. */
export class WebSocketTransport {
  private readonly wss: WebSocketServer;

  constructor(maxFrameBytes: number) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: maxFrameBytes,
      // UTF-8 is checked by us so invalid text gets an error reply instead of a bare close 1007.
      skipUTF8Validation: true,
    });
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, handlers: WebSocketHandlers): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = handlers.open(new WebSocketSink(ws, socket), req);
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        session.activity();
        if (isBinary) session.badInput('binary');
        else if (!isUtf8(data)) session.badInput('invalid_utf8');
        else session.message(data.toString('utf8'));
      });
      ws.on('pong', () => session.activity());
      ws.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') session.tooLarge();
      });
      ws.on('close', () => session.closed());
    });
  }
}
