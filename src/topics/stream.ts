import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { authorize, keyOf } from './access.js';
import { parseAckIds } from './request-input.js';
import { ackResults, publicReceived } from './views.js';
import { SwitchboardError, asSwitchboardError } from '../protocol/errors.js';
import type { Principal } from './applications.js';
import type { SubscriptionRecord, TopicService } from './service.js';
import type { AckOutcome } from './store.js';

const streamPath = /^\/api\/topics\/([A-Za-z0-9_]+)\/subscriptions\/([A-Za-z0-9_][A-Za-z0-9_-]*)\/stream$/;
/** Longest a streaming pull waits in one store pull before looking at its state again. */
const pullWaitMs = 1000;
/** Largest client frame (acks of a full window of ids). */
const maxFrameBytes = 1024 * 1024;

interface ClientFrame {
  type: 'ack' | 'nack' | 'modify_deadline' | 'flow';
  ackIds?: unknown;
  delayMs?: unknown;
  deadlineMs?: unknown;
  maxOutstanding?: unknown;
}

/**
 * WebSocket streaming pull on `/api/topics/<application>/subscriptions/<name>/stream`: the server
 * sends `{"type":"message", ackId, attempt, message}` frames while fewer than `maxOutstanding`
 * (query or `flow` frame, capped by topics.stream.maxOutstanding) are unacknowledged; the client
 * sends `{"type":"ack"|"nack"|"modify_deadline", ackIds, delayMs?, deadlineMs?}` and gets
 * `{"type":"result", of, results}`. A delivery whose ack deadline passed no longer counts as
 * outstanding (the store delivers it again).
 */
export class TopicStreams {
  private readonly wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: maxFrameBytes });
  private readonly open = new Set<StreamingPull>();

  constructor(
    private readonly topics: TopicService,
    private readonly resolve: (key: string | undefined) => Promise<Principal>,
    private readonly countError: (code: SwitchboardError['code']) => void,
  ) {}

  /** Takes the upgrade when the path is a topic stream; false leaves it to other handlers. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://switchboard');
    const match = streamPath.exec(url.pathname);
    if (!match) return false;
    const [, app, sub] = match as unknown as [string, string, string];
    const refuse = (err: unknown) => {
      const error = asSwitchboardError(err);
      this.countError(error.code);
      const text = JSON.stringify({ error: error.toJSON() });
      socket.end(`HTTP/1.1 ${error.httpStatus} Refused\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
    };
    void (async () => {
      const principal = await this.resolve(keyOf(req.headers, url.searchParams));
      authorize(principal, app, ['subscribe']);
      const record = await this.topics.getSubscription(app, sub);
      if (record.push) throw new SwitchboardError('bad_request', 'a push subscription cannot be pulled');
      const asked = url.searchParams.get('maxOutstanding');
      return { record, maxOutstanding: asked === null ? this.topics.config.stream.maxOutstanding : this.window(Number(asked)) };
    })().then(({ record, maxOutstanding }) => {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const stream = new StreamingPull(ws, this.topics, record, maxOutstanding, (n) => this.window(n));
        this.open.add(stream);
        ws.once('close', () => this.open.delete(stream));
        stream.run();
      });
    }, refuse);
    return true;
  }

  private window(n: number): number {
    const max = this.topics.config.stream.maxOutstanding;
    if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new SwitchboardError('bad_request', `maxOutstanding is between 1 and ${max} (topics.stream.maxOutstanding)`);
    return n;
  }

  /** Closes every stream (node shutdown); unacknowledged messages are redelivered after their deadline. */
  close(): void {
    for (const stream of this.open) stream.close(1001, 'going away');
  }
}

class StreamingPull {
  private readonly abort = new AbortController();
  /** ackId -> when its deadline passes. */
  private readonly outstanding = new Map<string, number>();
  private wake: (() => void) | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly topics: TopicService,
    /** Read at the upgrade; acks use it as it is (see TopicService.ack), pulls read it again. */
    private readonly sub: SubscriptionRecord,
    private maxOutstanding: number,
    private readonly checkWindow: (n: number) => number,
  ) {
    ws.on('message', (data, isBinary) => void this.onFrame(data.toString(), isBinary));
    ws.on('close', () => {
      this.abort.abort();
      this.wake?.();
    });
    ws.on('error', () => {});
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  private send(frame: unknown): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(frame));
  }

  private free(): number {
    const now = Date.now();
    for (const [ackId, expiresAt] of this.outstanding) if (expiresAt <= now) this.outstanding.delete(ackId);
    return this.maxOutstanding - this.outstanding.size;
  }

  async run(): Promise<void> {
    const { signal } = this.abort;
    while (!signal.aborted) {
      const room = this.free();
      if (room <= 0) {
        const next = Math.min(...this.outstanding.values());
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, next - Date.now()));
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
        continue;
      }
      try {
        const received = await this.topics.pull(this.sub.application, this.sub.name, { maxMessages: room, waitMs: pullWaitMs, signal });
        for (const r of received) {
          this.outstanding.set(r.ackId, Date.now() + this.sub.ackDeadlineMs);
          this.send({ type: 'message', ...publicReceived(r) });
        }
      } catch (err) {
        const error = asSwitchboardError(err);
        this.send({ type: 'error', error: error.toJSON() });
        this.close(error.closeCode, error.code);
        return;
      }
    }
  }

  private async onFrame(text: string, isBinary: boolean): Promise<void> {
    let frame: ClientFrame;
    try {
      if (isBinary) throw new Error('binary');
      frame = JSON.parse(text) as ClientFrame;
      if (frame === null || typeof frame !== 'object') throw new Error('not an object');
    } catch {
      this.send({ type: 'error', error: { code: 'bad_request', message: 'frames are JSON objects {"type": "ack" | "nack" | "modify_deadline" | "flow", ...}' } });
      return;
    }
    try {
      if (frame.type === 'flow') {
        this.maxOutstanding = this.checkWindow(Number(frame.maxOutstanding));
        this.wake?.();
        return;
      }
      const ackIds = parseAckIds(frame.ackIds);
      let outcomes: AckOutcome[];
      if (frame.type === 'ack') outcomes = await this.topics.ack(this.sub, ackIds);
      else if (frame.type === 'nack') outcomes = await this.topics.nack(this.sub, ackIds, Number(frame.delayMs ?? 0));
      else if (frame.type === 'modify_deadline') outcomes = await this.topics.modifyDeadline(this.sub, ackIds, Number(frame.deadlineMs));
      else throw new SwitchboardError('bad_request', 'unknown frame type');
      ackIds.forEach((ackId, i) => {
        if (outcomes[i] === 'unknown' || outcomes[i] === 'expired') this.topics.metrics.onAckRejected(outcomes[i]);
        if (frame.type === 'modify_deadline' && outcomes[i] === 'ok' && Number(frame.deadlineMs) > 0) this.outstanding.set(ackId, Date.now() + Number(frame.deadlineMs));
        else this.outstanding.delete(ackId);
      });
      this.wake?.();
      this.send({ type: 'result', of: frame.type, results: ackResults(ackIds, outcomes) });
    } catch (err) {
      this.send({ type: 'error', error: asSwitchboardError(err).toJSON() });
    }
  }
}
