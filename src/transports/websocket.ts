import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Sink } from '../sessions/sink.js';

/** Where a connection's events go; kept on the WebSocket object itself (see attach). */
const kHandlers = Symbol('switchboard.handlers');
type Tracked = WebSocket & { [kHandlers]: WebSocketSessionHandlers };

/**
 * A WebSocket connection as a session sink. Server frames are pre-built by the hub, so they are
 * written straight to the socket: ws only does the handshake, reading, pings and the close handshake.
 */
export class WebSocketSink implements Sink {
  readonly answersPings = true;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
  ) {}

  write(bytes: Buffer): void {
    if (this.socket.writable) this.socket.write(bytes);
  }

  /** A write whose callback has run (the stream's length is back to 0) no longer needs its buffer. */
  writeTransient(bytes: Buffer): boolean {
    this.write(bytes);
    return this.socket.writableLength === 0;
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

  /** From now on the connection's events go to these handlers (a session opened after a first frame). */
  handOver(handlers: WebSocketSessionHandlers): void {
    (this.ws as Tracked)[kHandlers] = handlers;
  }
}

// One set of listener functions for every connection: no closure per connection, and nothing of
// the upgrade request stays reachable from a long-lived listener.
function handlersOf(ws: WebSocket): WebSocketSessionHandlers {
  return (ws as Tracked)[kHandlers];
}

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const handlers = handlersOf(this);
  handlers.activity();
  if (isBinary) handlers.badInput('binary');
  else if (!isUtf8(data)) handlers.badInput('invalid_utf8');
  else handlers.message(data.toString('utf8'));
}

function onPong(this: WebSocket): void {
  handlersOf(this).activity();
}

function onError(this: WebSocket, err: Error & { code?: string }): void {
  if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') handlersOf(this).tooLarge();
}

function onClose(this: WebSocket): void {
  handlersOf(this).closed();
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

  /** Completes the handshake; `open` is called once with the connection's sink and returns its handlers. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, open: (sink: WebSocketSink) => WebSocketSessionHandlers): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      (ws as Tracked)[kHandlers] = open(new WebSocketSink(ws, socket));
      ws.on('message', onMessage);
      ws.on('pong', onPong);
      ws.on('error', onError);
      ws.on('close', onClose);
    });
  }
}
