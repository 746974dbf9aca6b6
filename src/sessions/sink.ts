/** What a transport gives a session: somewhere to write bytes and a way to end the connection. */
export interface Sink {
  /** Writes what was queued during one event-loop turn, as one write. */
  write(bytes: Buffer): void;
  /** Bytes accepted by write() that the kernel has not taken yet. */
  bufferedBytes(): number;
  /** Whether the client answers ping() (WebSocket pong), so silence can be detected. */
  readonly answersPings: boolean;
  /** Transport-level heartbeat (WebSocket ping frame); transports without one do nothing. */
  ping(): void;
  /** Ends the connection politely: WebSocket close frame with this code, or the end of the HTTP response. */
  end(code: number, reason: string): void;
  /** Drops the connection at once. */
  destroy(): void;
}
