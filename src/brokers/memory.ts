import type { Broker, ControlBus, ControlMessage, HistoryOptions, HistoryQuery, HistoryResult, PresenceMember, PresenceStore, Publication, StreamPosition } from './broker.js';
import { MemoryStreams } from './memory-stream.js';

/** Presence entries in memory, each with its own expiry. */
class MemoryPresence implements PresenceStore {
  private readonly channels = new Map<string, Map<string, { member: PresenceMember; expiresAt: number }>>();

  async add(channel: string, members: PresenceMember[], ttl: number): Promise<void> {
    let entries = this.channels.get(channel);
    if (!entries) this.channels.set(channel, (entries = new Map()));
    const expiresAt = Date.now() + ttl;
    for (const member of members) entries.set(member.session, { member, expiresAt });
  }

  async remove(channel: string, sessions: string[]): Promise<void> {
    const entries = this.channels.get(channel);
    if (!entries) return;
    for (const session of sessions) entries.delete(session);
    if (entries.size === 0) this.channels.delete(channel);
  }

  async list(channel: string): Promise<PresenceMember[]> {
    const entries = this.channels.get(channel);
    if (!entries) return [];
    const now = Date.now();
    const members: PresenceMember[] = [];
    for (const [session, entry] of entries) {
      if (entry.expiresAt <= now) entries.delete(session);
      else members.push(entry.member);
    }
    return members;
  }
}

/**
 * An in-process bus several memory brokers can share, so tests can run many nodes in one
 * process. The default node gets a bus of its own.
 */
export class MemoryBus {
  private readonly subscribers = new Map<string, Set<MemoryBroker>>();
  readonly brokers = new Set<MemoryBroker>();
  readonly streams = new MemoryStreams();
  readonly presence = new MemoryPresence();

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
  readonly healthy = true;
  readonly presence: PresenceStore;
  readonly control: ControlBus;
  private handler: (pub: Publication) => void = () => {};
  private controlHandler: (message: ControlMessage) => void = () => {};
  private readonly channels = new Set<string>();

  constructor(private readonly bus: MemoryBus = new MemoryBus()) {
    bus.brokers.add(this);
    this.presence = bus.presence;
    this.control = {
      publish: async (message) => {
        // Delivered after the caller's turn, as a network hop would be, to every broker on the bus.
        for (const broker of bus.brokers) queueMicrotask(() => broker.controlHandler(message));
      },
      onMessage: (handler) => {
        this.controlHandler = handler;
      },
    };
  }

  async connect(): Promise<void> {}

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

  /** A memory bus never disconnects. */
  onReconnect(): void {}

  receive(pub: Publication): void {
    this.handler(pub);
  }

  async close(): Promise<void> {
    for (const channel of this.channels) this.bus.remove(channel, this);
    this.channels.clear();
    this.bus.brokers.delete(this);
  }
}
