import { Session, type SessionLimits } from '../../src/sessions/session.js';
import type { Sink } from '../../src/sessions/sink.js';
import { WireFormat } from '../../src/protocol/wire.js';

/** A sink that keeps what it is given; `buffered` is what the kernel has not taken yet (never drained unless the test says so). */
export interface RecordingSink extends Sink {
  readonly written: Buffer[];
  buffered: number;
  pings: number;
  ended: { code: number; reason: string } | undefined;
  destroyed: boolean;
}

export function recordingSink(options: { answersPings?: boolean; drains?: boolean } = {}): RecordingSink {
  const sink: RecordingSink = {
    written: [],
    buffered: 0,
    pings: 0,
    ended: undefined,
    destroyed: false,
    answersPings: options.answersPings ?? true,
    write(bytes) {
      sink.written.push(bytes);
      if (options.drains === false) sink.buffered += bytes.length;
    },
    bufferedBytes: () => sink.buffered,
    ping() {
      sink.pings += 1;
    },
    end(code, reason) {
      sink.ended = { code, reason };
    },
    destroy() {
      sink.destroyed = true;
    },
  };
  return sink;
}

export const defaultLimits: SessionLimits = { maxBufferedBytes: 1 << 20, closeGracePeriod: 1000, messagesPerSecond: 100, messagesBurst: 100 };

/** A session writing newline-delimited JSON to `sink`; `ended` collects the reason it ended with. */
export function sessionOn(sink: Sink, limits: Partial<SessionLimits> = {}, ended: string[] = []): Session {
  return new Session({
    format: WireFormat.ndjson,
    sink,
    identity: { user: 'u', context: {}, privileged: false, channels: [], issuedAt: Date.now() },
    remote: '127.0.0.1',
    limits: { ...defaultLimits, ...limits },
    onEnd: (_session, reason) => ended.push(reason),
  });
}

/** The JSON lines a recording sink was given. */
export function linesOf(sink: RecordingSink): Record<string, unknown>[] {
  return Buffer.concat(sink.written)
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Resolves after the outbox flushed what was queued in this turn. */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
