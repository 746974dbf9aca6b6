import type { Msg, Subscription } from '@nats-io/transport-node';
import { natsName, type NatsSettings } from '../../backends/nats.js';
import type { Broker, HistoryOptions, HistoryQuery, HistoryResult, Publication, StreamPosition } from '../broker.js';
import { BrokerConnection, notConnected, token } from './connection.js';
import { NatsControl } from './control.js';
import { H_EPOCH, H_OFFSET, NatsHistory } from './history.js';
import { NatsPresence } from './presence.js';

export interface NatsBrokerOptions extends NatsSettings {
  /** Prefix of every subject, stream and bucket name, so several deployments can share one NATS. */
  prefix: string;
}

/** A message body: data, time, and for a presence event (join/leave, never stored) `p`. */
type Body = { d: unknown; t: number; p?: Publication['presence'] };

/**
 * NATS with JetStream (2.9 or later).
 *
 * - Live fan-out on core subjects `<prefix>.live.<channel token>`, one subscription per channel
 *   per node. Publications without history are published there directly; those with history are
 *   appended to a JetStream stream that republishes them there (history.ts).
 * - Presence in a KV bucket (presence.ts), control messages on a core subject (control.ts).
 */
export class NatsBroker implements Broker {
  readonly name = 'nats';
  readonly presence: NatsPresence;
  readonly control: NatsControl;
  private readonly connection: BrokerConnection;
  private readonly historyStore: NatsHistory;
  private readonly base: string;
  private handler: (pub: Publication) => void = () => {};
  private reconnectHandler: () => void = () => {};
  private readonly subscriptions = new Map<string, Subscription>();

  constructor(options: NatsBrokerOptions) {
    this.base = natsName(options.prefix);
    this.connection = new BrokerConnection(options, () => {
      this.historyStore.forget();
      this.reconnectHandler();
    });
    this.historyStore = new NatsHistory(this.connection, this.base);
    this.presence = new NatsPresence(this.connection, this.base);
    this.control = new NatsControl(this.connection, this.base);
  }

  get healthy(): boolean {
    return this.connection.healthy;
  }

  /** Connects, checks JetStream and opens the presence bucket; throws `unavailable` when NATS cannot be reached. */
  async connect(): Promise<void> {
    await this.connection.connect(async () => {
      await this.presence.open();
      this.control.open();
    });
  }

  private liveSubject(channel: string): string {
    return `${this.base}.live.${token(channel)}`;
  }

  async publish(pub: Publication, opts?: { history?: HistoryOptions }): Promise<StreamPosition | undefined> {
    const body = JSON.stringify((pub.presence ? { d: pub.data, t: pub.time, p: pub.presence } : { d: pub.data, t: pub.time }) satisfies Body);
    const history = opts?.history;
    if (history) return this.historyStore.append(pub, body, history);
    await this.connection.run(async () => {
      this.connection.client().publish(this.liveSubject(pub.channel), body);
      await this.connection.flushed();
    });
    return undefined;
  }

  history(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    return this.historyStore.read(channel, query);
  }

  async subscribe(channel: string): Promise<void> {
    if (!this.connection.healthy) throw notConnected();
    if (!this.subscriptions.has(channel)) {
      const sub = this.connection.client().subscribe(this.liveSubject(channel), {
        callback: (err, msg) => {
          if (!err) this.receive(channel, msg);
        },
      });
      this.subscriptions.set(channel, sub);
    }
    // The server has the subscription once it answered the flush.
    await this.connection.run(() => this.connection.flushed());
  }

  async unsubscribe(channel: string): Promise<void> {
    const sub = this.subscriptions.get(channel);
    if (!sub) return;
    this.subscriptions.delete(channel);
    sub.unsubscribe();
  }

  private receive(channel: string, msg: Msg): void {
    let body: Body;
    try {
      body = msg.json<Body>();
    } catch {
      return;
    }
    const pub: Publication = { channel, data: body.d, time: body.t };
    if (body.p) pub.presence = body.p;
    const offset = msg.headers?.get(H_OFFSET);
    if (offset) {
      pub.offset = Number(offset);
      pub.epoch = msg.headers!.get(H_EPOCH);
    }
    this.handler(pub);
  }

  onPublication(handler: (pub: Publication) => void): void {
    this.handler = handler;
  }

  onReconnect(handler: () => void): void {
    this.reconnectHandler = handler;
  }

  async close(): Promise<void> {
    this.subscriptions.clear();
    await this.connection.close();
  }
}
