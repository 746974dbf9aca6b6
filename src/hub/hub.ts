import type { Broker, Publication } from '../brokers/broker.js';
import type { Stats } from '../observability/metrics.js';
import type { ServerFrame } from '../protocol/frames.js';
import { encodeControl, encodePublication, wireFormatCount, type WireFormat } from '../protocol/wire.js';
import type { Session } from '../sessions/session.js';

/** The local subscribers of one channel, grouped by wire format so each group shares one encoding. */
class ChannelSubscribers {
  readonly groups: (Set<Session> | undefined)[] = new Array(wireFormatCount);
  size = 0;

  add(session: Session): boolean {
    let group = this.groups[session.format];
    if (!group) this.groups[session.format] = group = new Set();
    if (group.has(session)) return false;
    group.add(session);
    this.size += 1;
    return true;
  }

  delete(session: Session): boolean {
    if (!this.groups[session.format]?.delete(session)) return false;
    this.size -= 1;
    return true;
  }
}

export interface ChannelCount {
  channel: string;
  subscribers: number;
}

/**
 * Channel -> local sessions. Subscribes this node to a channel on the broker while it has at least
 * one local subscriber, and fans each publication out: encoded once per wire format in use on the
 * channel, the same bytes queued on every session.
 */
export class Hub {
  private readonly channels = new Map<string, ChannelSubscribers>();
  private subscriptionTotal = 0;

  constructor(
    private readonly broker: Broker,
    private readonly stats: Stats,
  ) {
    broker.onPublication((pub) => this.dispatch(pub));
  }

  get subscriptions(): number {
    return this.subscriptionTotal;
  }

  get channelCount(): number {
    return this.channels.size;
  }

  /** Adds the session to the channel; false if it was already subscribed. */
  async subscribe(session: Session, channel: string): Promise<boolean> {
    let entry = this.channels.get(channel);
    const first = !entry;
    if (!entry) this.channels.set(channel, (entry = new ChannelSubscribers()));
    if (!entry.add(session)) return false;
    session.channels.add(channel);
    this.subscriptionTotal += 1;
    if (first) {
      try {
        await this.broker.subscribe(channel);
      } catch (err) {
        this.unsubscribe(session, channel);
        throw err;
      }
    }
    return true;
  }

  /** Removes the session from the channel; false if it was not subscribed. */
  unsubscribe(session: Session, channel: string): boolean {
    const entry = this.channels.get(channel);
    if (!entry?.delete(session)) return false;
    session.channels.delete(channel);
    this.subscriptionTotal -= 1;
    if (entry.size === 0) {
      this.channels.delete(channel);
      void this.broker.unsubscribe(channel).catch(() => {});
    }
    return true;
  }

  unsubscribeAll(session: Session): string[] {
    const channels = [...session.channels];
    for (const channel of channels) this.unsubscribe(session, channel);
    return channels;
  }

  /** Fans a publication out to the local subscribers; returns how many were reached. */
  dispatch(pub: Publication): number {
    const entry = this.channels.get(pub.channel);
    if (!entry) return 0;
    const channelJson = JSON.stringify(pub.channel);
    const dataJson = JSON.stringify(pub.data);
    const { groups } = entry;
    for (let format = 0; format < wireFormatCount; format++) {
      const group = groups[format];
      if (!group || group.size === 0) continue;
      const bytes = encodePublication(format as WireFormat, channelJson, dataJson);
      for (const session of group) session.enqueue(bytes);
      this.stats.messagesOut[format]! += group.size;
      this.stats.bytesOut[format]! += bytes.length * group.size;
    }
    return entry.size;
  }

  /** Sends a protocol frame (join, leave) to the channel's subscribers, except one session. */
  sendControl(channel: string, frame: ServerFrame, except?: Session): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    for (let format = 0; format < wireFormatCount; format++) {
      const group = entry.groups[format];
      if (!group || group.size === 0) continue;
      const bytes = encodeControl(format as WireFormat, frame);
      if (!bytes) continue;
      for (const session of group) if (session !== except) session.enqueue(bytes);
    }
  }

  subscriberCount(channel: string): number {
    return this.channels.get(channel)?.size ?? 0;
  }

  subscribers(channel: string): Session[] {
    const entry = this.channels.get(channel);
    if (!entry) return [];
    return entry.groups.flatMap((group) => (group ? [...group] : []));
  }

  /** Channels with local subscribers, optionally only those starting with a prefix. */
  list(prefix = ''): ChannelCount[] {
    const result: ChannelCount[] = [];
    for (const [channel, entry] of this.channels) {
      if (channel.startsWith(prefix)) result.push({ channel, subscribers: entry.size });
    }
    return result.sort((a, b) => (a.channel < b.channel ? -1 : 1));
  }
}
