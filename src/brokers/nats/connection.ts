import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connectNats, type NatsSettings } from '../../backends/nats.js';
import { unavailableError } from '../../protocol/errors.js';

/** Longest any NATS operation may take before it fails with `unavailable`. */
export const OPERATION_TIMEOUT = 5000;

/** A channel name as one subject token (and KV key token): base64url, never empty. */
export function token(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url') || '_';
}

export function notConnected(): Error {
  return unavailableError('the broker', new Error('not connected'));
}

/** A message read from a stream. */
export interface StreamMessage {
  seq: number;
  subject: string;
  headers: MsgHdrs | undefined;
  data: Uint8Array;
}

/**
 * The broker's connection to NATS with JetStream: up or down as the client reports, operations
 * that fail at once while it is down (or when it drops under them), and the reconnection reported
 * once the server has every subscription again.
 */
export class BrokerConnection {
  private nc: NatsConnection | undefined;
  js!: JetStreamClient;
  jsm!: JetStreamManager;
  private up = false;
  private closing = false;
  /** Operations in flight: they fail at once when the connection drops rather than time out. */
  private readonly inFlight = new Set<(err: Error) => void>();
  private pendingFlush: Promise<void> | undefined;

  constructor(
    private readonly settings: NatsSettings,
    /** The connection is back and the server has every subscription again. */
    private readonly reconnected: () => void,
  ) {}

  get healthy(): boolean {
    return this.up;
  }

  /** Connects, then runs `open` (buckets, subscriptions); throws `unavailable` when NATS cannot be reached. */
  async connect(open: () => Promise<void>): Promise<void> {
    let nc: NatsConnection;
    try {
      nc = await connectNats(this.settings, { name: 'switchboard', timeout: OPERATION_TIMEOUT, client: { pingInterval: 10_000, maxPingOut: 3 } });
    } catch (err) {
      throw unavailableError('the broker', err);
    }
    this.nc = nc;
    try {
      this.js = jetstream(nc, { timeout: OPERATION_TIMEOUT });
      this.jsm = await jetstreamManager(nc, { timeout: OPERATION_TIMEOUT });
      await open();
      await nc.flush();
    } catch (err) {
      await nc.close().catch(() => {});
      this.nc = undefined;
      throw unavailableError('the broker', err);
    }
    this.up = true;
    void this.watchStatus(nc);
  }

  /** The client; throws unavailable before `connect` and after `close`. */
  client(): NatsConnection {
    if (!this.nc) throw notConnected();
    return this.nc;
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'close') this.markDown(status.type);
      else if (status.type === 'reconnect') void this.afterReconnect(nc);
    }
  }

  private markDown(why: string): void {
    if (!this.up) return;
    this.up = false;
    const failures = [...this.inFlight];
    this.inFlight.clear();
    for (const fail of failures) fail(new Error(`connection ${why}`));
  }

  /** The client sent every subscription again on reconnecting; the flush makes sure the server has them. */
  private async afterReconnect(nc: NatsConnection): Promise<void> {
    try {
      await nc.flush();
    } catch {
      return; // down again: the next reconnect tries anew
    }
    if (this.closing || nc.isClosed()) return;
    this.up = true;
    this.reconnected();
  }

  /** Runs an operation; fails at once while disconnected, when the connection drops, or after a bounded time. */
  run<T>(operation: () => Promise<T>): Promise<T> {
    if (!this.up) return Promise.reject(notConnected());
    return new Promise<T>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.inFlight.delete(fail);
      };
      const fail = (err: unknown) => {
        settle();
        reject(unavailableError('the broker', err));
      };
      const timer = setTimeout(() => fail(new Error(`no answer within ${OPERATION_TIMEOUT * 2} ms`)), OPERATION_TIMEOUT * 2);
      this.inFlight.add(fail);
      Promise.resolve()
        .then(operation)
        .then((value) => {
          settle();
          resolve(value);
        }, fail);
    });
  }

  /** Resolves once the server has everything this connection published so far (one PING per event-loop turn). */
  flushed(): Promise<void> {
    if (!this.pendingFlush) {
      this.pendingFlush = Promise.resolve().then(() => {
        this.pendingFlush = undefined;
        return this.client().flush();
      });
    }
    return this.pendingFlush;
  }

  /** Every message of a stream matching the filter (or the last of each subject), through an ordered consumer. */
  async readStream(stream: string, filter: string, policy: DeliverPolicy): Promise<StreamMessage[]> {
    const consumer = await this.js.consumers.get(stream, { filter_subjects: filter, deliver_policy: policy, inactive_threshold: 30_000 });
    try {
      const pending = (await consumer.info(true)).num_pending;
      const out: StreamMessage[] = [];
      if (pending === 0) return out;
      const batch = await consumer.fetch({ max_messages: pending, expires: OPERATION_TIMEOUT });
      for await (const m of batch) {
        out.push({ seq: m.seq, subject: m.subject, headers: m.headers, data: m.data });
        if (m.info.pending === 0 || out.length >= pending) break;
      }
      return out;
    } finally {
      consumer.delete().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.markDown('closed');
    const nc = this.nc;
    this.nc = undefined;
    if (nc && !nc.isClosed()) await nc.close().catch(() => {});
  }
}
