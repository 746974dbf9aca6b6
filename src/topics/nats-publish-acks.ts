import { createInbox, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { OPERATION_TIMEOUT } from './nats-jetstream.js';

/**
 * Publishes to streams and resolves with their acks. All publishes share one wildcard reply
 * subscription instead of a request each: several times the throughput of one request per message.
 */
export class PublishAcks {
  /** Publishes waiting for their JetStream ack, by the last token of their reply subject. */
  private readonly pendingAcks = new Map<string, { resolve: (ack: { seq: number; duplicate: boolean }) => void; reject: (err: Error) => void; expiresAt: number }>();
  private readonly ackInbox = createInbox();
  private ackCounter = 0;
  private readonly ackTimer: NodeJS.Timeout;

  constructor(private readonly nc: NatsConnection) {
    nc.subscribe(`${this.ackInbox}.*`, {
      callback: (err, msg) => {
        if (!err) this.onPublishAck(msg);
      },
    });
    this.ackTimer = setInterval(() => this.expireAcks(), 1000);
    this.ackTimer.unref();
  }

  /** Fails the publishes still waiting for their ack. */
  close(): void {
    clearInterval(this.ackTimer);
    this.expireAcks(Infinity);
  }

  publish(subject: string, payload: string, msgId: string | undefined): Promise<{ seq: number; duplicate: boolean }> {
    const token = String(++this.ackCounter);
    return new Promise((resolve, reject) => {
      this.pendingAcks.set(token, { resolve, reject, expiresAt: Date.now() + OPERATION_TIMEOUT });
      let h;
      if (msgId !== undefined) {
        h = headers();
        h.set('Nats-Msg-Id', msgId);
      }
      this.nc.publish(subject, payload, { reply: `${this.ackInbox}.${token}`, ...(h && { headers: h }) });
    });
  }

  private onPublishAck(msg: Msg): void {
    const token = msg.subject.slice(this.ackInbox.length + 1);
    const pending = this.pendingAcks.get(token);
    if (!pending) return;
    this.pendingAcks.delete(token);
    if (msg.headers?.code === 503) return pending.reject(new Error('no responders'));
    try {
      const ack = JSON.parse(Buffer.from(msg.data).toString('utf8')) as { seq?: number; duplicate?: boolean; error?: { description?: string } };
      if (ack.error || typeof ack.seq !== 'number') return pending.reject(new Error(ack.error?.description ?? 'no publish ack'));
      pending.resolve({ seq: ack.seq, duplicate: ack.duplicate === true });
    } catch (err) {
      pending.reject(err as Error);
    }
  }

  private expireAcks(now = Date.now()): void {
    for (const [token, pending] of this.pendingAcks) {
      if (pending.expiresAt > now) continue;
      this.pendingAcks.delete(token);
      pending.reject(new Error('timed out waiting for the publish ack'));
    }
  }
}
