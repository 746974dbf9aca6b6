import { randomBytes } from 'node:crypto';
import type { Broker, HistoryOptions, HistoryQuery, HistoryResult, Publication, StreamPosition } from '../broker.js';
import { brokerCall, notConnected, type ConnectionEvents, type RedisConnection } from './connection.js';
import { ClusterConnection } from './cluster-connection.js';
import { RedisControl } from './control.js';
import { RedisHistory } from './history.js';
import { RedisPresence } from './presence.js';
import { StandaloneConnection } from './standalone-connection.js';

export interface RedisBrokerOptions {
  /** A Redis URL; with `cluster`, one or more comma-separated seed URLs of the Cluster's nodes. */
  url: string;
  /** Prefix of every key and pub/sub channel, so several deployments can share one Redis. */
  prefix: string;
  /** The server is a Redis Cluster: live fan-out goes through sharded pub/sub. */
  cluster?: boolean;
}

/**
 * A publication on the wire: `offset:epoch:` (both empty without history) then {"c","d","t","p"?,"n"?};
 * `p` is a presence event, `n` the broker instance that published it (channels without history).
 */
function decode(message: string): { pub: Publication; origin: string | undefined } {
  const first = message.indexOf(':');
  const second = message.indexOf(':', first + 1);
  const body = JSON.parse(message.slice(second + 1)) as { c: string; d: unknown; t: number; p?: Publication['presence']; n?: string };
  const pub: Publication = { channel: body.c, data: body.d, time: body.t };
  if (body.p) pub.presence = body.p;
  if (first > 0) {
    pub.offset = Number(message.slice(0, first));
    pub.epoch = message.slice(first + 1, second);
  }
  return { pub, origin: body.n };
}

/**
 * Redis (7 or later): pub/sub for live fan-out with one subscription per channel per node,
 * Streams for history (history.ts), presence in a sorted set and a hash per channel (presence.ts),
 * and a pub/sub channel for control messages (control.ts).
 *
 * Against a Redis Cluster (`cluster: true`) every key of a channel carries the channel as its hash
 * tag, so its stream, metadata and presence live in one slot, and live publications go through
 * sharded pub/sub on a shard channel with the same hash tag: a channel's publications only travel
 * through the shard that owns its slot, and the publish script can append to the stream and
 * publish in one atomic step (cluster-connection.ts).
 */
export class RedisBroker implements Broker {
  readonly name = 'redis';
  readonly presence: RedisPresence;
  readonly control: RedisControl;
  private readonly connection: RedisConnection;
  private readonly historyStore: RedisHistory;
  private handler: (pub: Publication) => void = () => {};
  private reconnectHandler: () => void = () => {};
  /** Marks this instance's publications on channels without history: it delivers them itself. */
  private readonly origin = randomBytes(6).toString('hex');

  constructor(options: RedisBrokerOptions) {
    const events: ConnectionEvents = {
      control: (message) => this.control.receive(message),
      publication: (message) => this.receivePublication(message),
      reconnected: () => this.reconnectHandler(),
    };
    this.connection = options.cluster ? new ClusterConnection(options.url, options.prefix, events) : new StandaloneConnection(options.url, options.prefix, events);
    this.control = new RedisControl(this.connection, options.prefix);
    this.presence = new RedisPresence(this.connection, options.prefix);
    this.historyStore = new RedisHistory(this.connection, options.prefix);
  }

  /** A publication message; one that is not Switchboard's own encoding (written by something else) is dropped, as the NATS broker does. */
  private receivePublication(message: string): void {
    let decoded;
    try {
      decoded = decode(message);
    } catch {
      return;
    }
    if (decoded.origin !== this.origin) this.handler(decoded.pub);
  }

  get healthy(): boolean {
    return this.connection.healthy;
  }

  /** Connects and subscribes the control channel; throws when Redis cannot be reached. */
  async connect(): Promise<void> {
    await brokerCall(() => this.connection.connect());
  }

  /**
   * Refused while the node is not healthy (as readiness says). Publications on a channel without
   * history reach this node's own subscribers directly, not through its subscriber connection, which
   * may drop after Redis accepted them: nothing could bring them back. Those with history come
   * through it; a gap is read from the stream.
   */
  async publish(pub: Publication, opts?: { history?: HistoryOptions }): Promise<StreamPosition | undefined> {
    if (!this.healthy) throw notConnected();
    const history = opts?.history;
    // A presence event (join/leave) carries `p`, so subscribers on every node get it as one.
    const body = JSON.stringify({ c: pub.channel, d: pub.data, t: pub.time, ...(pub.presence ? { p: pub.presence } : {}), ...(history ? {} : { n: this.origin }) });
    if (history) return this.historyStore.append(pub, body, history);
    await brokerCall(() => this.connection.publishLive(pub.channel, `::${body}`));
    this.handler(pub);
    return undefined;
  }

  history(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    return this.historyStore.read(channel, query);
  }

  async subscribe(channel: string): Promise<void> {
    if (!this.healthy) throw notConnected();
    await this.connection.subscribe(channel);
  }

  unsubscribe(channel: string): Promise<void> {
    return this.connection.unsubscribe(channel);
  }

  onPublication(handler: (pub: Publication) => void): void {
    this.handler = handler;
  }

  onReconnect(handler: () => void): void {
    this.reconnectHandler = handler;
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
