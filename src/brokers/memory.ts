import type { Broker, HistoryOptions, HistoryQuery, HistoryResult, Publication, StreamPosition } from './broker.js';
import { MemoryStreams } from './memory-stream.js';

/**
 * An in-process bus several memory brokers can share, so tests can run many nodes in one
 * process. The default node gets a bus of its own.
 */
export class MemoryBus {
  private readonly subscribers = new Map<string, Set<MemoryBroker>>();
  readonly streams = new MemoryStreams();

  deliver(pub: Publication): void {
    const brokers = this.subscribers.get(pub.channel);
    if (!brokers) return;
    for (const broker of brokers) broker.receive(pub);
  }

  add(channel: string, broker: MemoryBroker): void {
    let set = this.subscribers.get(channel);
    if (!set) this.subscribers.set(channel, (set = new Set()));
    set.add(broker);
  }

  remove(channel: string, broker: MemoryBroker): void {
    const set = this.subscribers.get(channel);
    if (!set) return;
    set.delete(broker);
    if (set.size === 0) this.subscribers.delete(channel);
  }
}

/** The default broker: no dependency, publications delivered synchronously within the process. */
export class MemoryBroker implements Broker {
  readonly name = 'memory';
  private handler: (pub: Publication) => void = () => {};
  private readonly channels = new Set<string>();

  constructor(private readonly bus: MemoryBus = new MemoryBus()) {}

  async publish(pub: Publication, opts?: { history?: HistoryOptions }): Promise<StreamPosition | undefined> {
    const position = opts?.history ? this.bus.streams.append(pub, opts.history) : undefined;
    this.bus.deliver(pub);
    return position;
  }

  async history(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    return this.bus.streams.query(channel, query);
  }

  async subscribe(channel: string): Promise<void> {
    this.channels.add(channel);
    this.bus.add(channel, this);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.channels.delete(channel);
    this.bus.remove(channel, this);
  }

  onPublication(handler: (pub: Publication) => void): void {
    this.handler = handler;
  }

  receive(pub: Publication): void {
    this.handler(pub);
  }

  async close(): Promise<void> {
    for (const channel of this.channels) this.bus.remove(channel, this);
    this.channels.clear();
  }
}
