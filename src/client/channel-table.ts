import type { SwitchboardClientError } from './errors.js';
import type { ClientFrame, FrameId, Position, ServerFrame } from '../protocol/types.js';
import type { ChannelMessage, SubscribedEvent, SubscriptionHandle } from './subscription.js';
import type { ChannelTarget } from './transport.js';

interface Channel {
  subscriptions: Set<SubscriptionHandle>;
  /** The last position delivered (channels with history). */
  position?: Position;
  /** Confirmed on the current connection. */
  confirmed: boolean;
  /** Ever confirmed: a refusal on reopening then cannot be about this channel. */
  known: boolean;
}

/**
 * The client's channels: the subscriptions sharing each, the last position delivered, and the
 * subscribe frames in flight. It turns the server's channel frames into subscription events.
 */
export class ChannelTable {
  private readonly channels = new Map<string, Channel>();
  /** Subscribe frames awaiting an answer, by frame id. */
  private readonly subscribing = new Map<FrameId, string>();

  constructor(private readonly nextId: () => number) {}

  /** Adds a subscription; true when the channel is new, so the connection must subscribe to it. */
  add(subscription: SubscriptionHandle, since: Position | undefined): boolean {
    const { channel } = subscription;
    const entry = this.channels.get(channel);
    if (!entry) {
      this.channels.set(channel, { subscriptions: new Set([subscription]), position: since, confirmed: false, known: false });
      return true;
    }
    entry.subscriptions.add(subscription);
    if (entry.confirmed) {
      const { position } = entry;
      queueMicrotask(() => subscription.confirmed({ channel, replayed: 0, position }));
    }
    return false;
  }

  /** Removes a subscription; true when it was the channel's last, so the connection must unsubscribe. */
  release(subscription: SubscriptionHandle): boolean {
    const entry = this.channels.get(subscription.channel);
    if (!entry?.subscriptions.delete(subscription) || entry.subscriptions.size > 0) return false;
    this.channels.delete(subscription.channel);
    return true;
  }

  /** The subscribe frame of one channel, resuming from its last position. */
  subscribeFrame(channel: string): ClientFrame {
    const id = this.nextId();
    this.subscribing.set(id, channel);
    const position = this.channels.get(channel)?.position;
    return position ? { type: 'subscribe', id, channel, since: position } : { type: 'subscribe', id, channel };
  }

  /** Subscribe frames for every channel, on a new two-way connection. */
  subscribeFrames(): ClientFrame[] {
    this.subscribing.clear();
    return [...this.channels.keys()].map((channel) => this.subscribeFrame(channel));
  }

  /** The channels and positions a one-way connection names in its URL. */
  targets(): ChannelTarget[] {
    return [...this.channels].map(([channel, entry]) => (entry.position ? { channel, since: entry.position } : { channel }));
  }

  /** The connection is gone or reopens: nothing is confirmed on the next one yet. */
  unconfirm(): void {
    for (const entry of this.channels.values()) entry.confirmed = false;
  }

  lost(): void {
    this.unconfirm();
    this.subscribing.clear();
  }

  /** A reply to a subscribe frame: its channel is refused on error. False when the reply is not about a subscription. */
  reply(id: FrameId, error: SwitchboardClientError | undefined): boolean {
    const channel = this.subscribing.get(id);
    if (channel === undefined) return false;
    this.subscribing.delete(id);
    if (error) this.refuse(channel, error);
    return true;
  }

  subscribed(frame: Extract<ServerFrame, { type: 'subscribed' }>): void {
    const entry = this.channels.get(frame.channel);
    if (!entry) return;
    if (frame.id !== undefined) this.subscribing.delete(frame.id);
    // Replayed publications follow and carry the positions up to this one; taking it now would drop them as seen.
    if (frame.offset !== undefined && frame.epoch !== undefined && !(frame.replayed && frame.replayed > 0)) {
      entry.position = { offset: frame.offset, epoch: frame.epoch };
    }
    entry.confirmed = true;
    entry.known = true;
    const event: SubscribedEvent = { channel: frame.channel, replayed: frame.replayed ?? 0 };
    if (frame.recovered !== undefined) event.recovered = frame.recovered;
    if (frame.offset !== undefined && frame.epoch !== undefined) event.position = { offset: frame.offset, epoch: frame.epoch };
    for (const s of entry.subscriptions) s.confirmed(event);
  }

  /** Delivers a publication to its channel's subscriptions; false when no subscription has the channel. */
  message(frame: Extract<ServerFrame, { type: 'message' }>): boolean {
    const entry = frame.channel === undefined ? undefined : this.channels.get(frame.channel);
    if (!entry) return false;
    const message: ChannelMessage = { channel: frame.channel!, data: frame.data };
    if (frame.offset !== undefined && frame.epoch !== undefined) {
      const last = entry.position;
      // Seen already (delivered on an earlier connection): recovery never hands out a publication twice.
      if (last && last.epoch === frame.epoch && frame.offset <= last.offset) return true;
      entry.position = { offset: frame.offset, epoch: frame.epoch };
      message.offset = frame.offset;
      message.epoch = frame.epoch;
    }
    for (const s of entry.subscriptions) s.deliver(message);
    return true;
  }

  /** The server ended a channel's subscription (an API call, or the broker could not set it up). */
  ended(channel: string, reason: string): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    this.channels.delete(channel);
    for (const s of entry.subscriptions) s.ended(reason);
  }

  presence(frame: Extract<ServerFrame, { type: 'join' | 'leave' }>): void {
    for (const s of this.channels.get(frame.channel)?.subscriptions ?? []) {
      s.presence(frame.type, { channel: frame.channel, user: frame.user, session: frame.session });
    }
  }

  /** The server refused a channel: its subscriptions fail and it is dropped. */
  refuse(channel: string, err: SwitchboardClientError): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    this.channels.delete(channel);
    for (const s of entry.subscriptions) s.failed(err);
  }

  /** Refuses the channels never confirmed on any connection; false when there were none. */
  refuseUnconfirmed(err: () => SwitchboardClientError): boolean {
    const fresh = [...this.channels].filter(([, entry]) => !entry.known).map(([channel]) => channel);
    for (const channel of fresh) this.refuse(channel, err());
    return fresh.length > 0;
  }
}
