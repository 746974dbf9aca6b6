/** What a transport gives a session: somewhere to write bytes and a way to end the connection. */
export interface Sink {
  /** Writes what was queued during one event-loop turn, as one write. */
  write(bytes: Buffer): void;
  /**
   * Writes bytes whose memory the caller reuses once this returns: true when they are passed on
   * (the kernel took them whole), false when the sink had to keep them. Sinks that keep what they
   * are given leave it out.
   */
  writeTransient?(bytes: Buffer): boolean;
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
