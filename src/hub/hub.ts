import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffPolicy } from '../backends/backoff.js';
import type { Broker, Publication, StreamPosition } from '../brokers/broker.js';
import type { Stats } from '../observability/metrics.js';
import { encodeCursor } from '../protocol/cursor.js';
import { positionJson, type ServerFrame } from '../protocol/frames.js';
import { encodeControl, encodeForSession, encodePublication, wireFormatCount, type SharedFormat, type WireFormat } from '../protocol/wire.js';
import { arrivalOf, catchUp, fillOutcome } from './gap-fill.js';
import type { Subscriber } from './subscriber.js';

/** The position of what was queued for the session on the channel: its replay's end while that is ahead of the live stream. */
function positionOf<S extends Subscriber>(entry: ChannelSubscribers<S>, session: S): StreamPosition | undefined {
  return entry.ahead?.get(session) ?? entry.position;
}

/** History reads a gap fill tries (100 ms apart, doubling) before its subscribers are asked to reconnect. */
const fillAttempts = 6;
const fillBackoff: BackoffPolicy = { initial: 100, max: 100 * 2 ** fillAttempts, jitter: 'none' };

/** The local subscribers of one channel, grouped by wire format so each group shares one encoding. */
class ChannelSubscribers<S extends Subscriber> {
  readonly groups: (Set<S> | undefined)[] = new Array(wireFormatCount);
  /** Sessions joining the channel: publications are held for them until their join completes. */
  pending: Map<S, Publication[]> | undefined;
  /** Subscribers, joined or pending. */
  size = 0;
  /** The newest stream position known on this node (channels with history). */
  position: StreamPosition | undefined;
  /** `channel~offset~epoch` for `position`, built on first use after it changes. */
  cursorText: string | undefined;
  /**
   * Set while the publications after `position` are read from history (a gap in the live stream,
   * or the broker connection came back): live publications wait here, in arrival order.
   */
  filling: Publication[] | undefined;
  /** Settles when the current fill is over. */
  fillDone: Promise<void> | undefined;
  /**
   * Sessions that joined with a replay reaching past `position` (the history read ran ahead of the
   * live stream on this node), with the position they have up to: live publications up to it are
   * not sent to them again.
   */
  ahead: Map<S, StreamPosition> | undefined;

  has(session: S): boolean {
    return this.groups[session.format]?.has(session) === true || this.pending?.has(session) === true;
  }

  join(session: S): void {
    let group = this.groups[session.format];
    if (!group) this.groups[session.format] = group = new Set();
    group.add(session);
  }
}

export interface SubscribeOptions {
  /** The channel keeps history: learn its position and, with `since`, replay what was missed. */
  history: boolean;
  since?: StreamPosition;
}

export interface JoinResult {
  /** False when the session was already subscribed. */
  added: boolean;
  /** With `since`: whether every publication after it is in `publications`. */
  recovered?: boolean;
  /** With history: the position after the last publication in `publications`. */
  position?: StreamPosition;
  /** Publications the session must receive before live ones: the replay, then any that arrived while joining. */
  publications: Publication[];
}

/**
 * Delivers publications to the subscribers of one format that cannot share its bytes (GraphQL: a
 * result per operation). It counts what it queues itself.
 */
export interface Deliverer<S extends Subscriber = Subscriber> {
  /** A live publication to the channel's joined sessions of the format, but those in `skip` (they already have it). */
  toChannel(pub: Publication, sessions: ReadonlySet<S>, skip: Set<S> | undefined): void;
  /** One publication to one session (a replay, or what arrived while it joined). */
  toSession(session: S, pub: Publication): void;
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
export class Hub<S extends Subscriber = Subscriber> {
  private readonly channels = new Map<string, ChannelSubscribers<S>>();
  private subscriptionTotal = 0;
  private readonly deliverers: (Deliverer<S> | undefined)[] = new Array(wireFormatCount);

  constructor(
    private readonly broker: Broker,
    private readonly stats: Stats,
    /** A gap in a channel's stream that history cannot fill: these subscribers must start again (reconnect). */
    private readonly onLost: (channel: string, sessions: S[]) => void = () => {},
  ) {}

  /** Publications to sessions of `format` go through `deliver` instead of one shared encoding. */
  deliverWith(format: WireFormat, deliver: Deliverer<S>): void {
    this.deliverers[format] = deliver;
  }

  /** One publication to one session (a replay, or what arrived while it joined). */
  deliverTo(session: S, pub: Publication): void {
    const deliver = this.deliverers[session.format];
    if (deliver) deliver.toSession(session, pub);
    else session.enqueue(encodeForSession(session.format as SharedFormat, pub));
  }

  get subscriptions(): number {
    return this.subscriptionTotal;
  }

  get channelCount(): number {
    return this.channels.size;
  }

  /**
   * Subscribes the session. Until the broker subscription (and the history read) is done the
   * session is pending: live publications are held for it. `onJoined` runs synchronously at the
   * moment it joins the live stream, so what it sends precedes every later publication.
   */
  async subscribe(session: S, channel: string, options: SubscribeOptions, onJoined: (result: JoinResult) => void): Promise<void> {
    let entry = this.channels.get(channel);
    const first = !entry;
    if (!entry) this.channels.set(channel, (entry = new ChannelSubscribers<S>()));
    if (entry.has(session)) {
      onJoined({ added: false, position: entry.position, publications: [] });
      return;
    }
    (entry.pending ??= new Map()).set(session, []);
    entry.size += 1;
    session.channels.add(channel);
    session.pendingJoins += 1;
    this.subscriptionTotal += 1;

    let history;
    try {
      if (first) await this.broker.subscribe(channel);
      if (options.history) history = await this.broker.history(channel, options.since ? { since: options.since } : { limit: 0 });
      // While a gap is being filled the others are behind the stream: join once they caught up,
      // so what the fill delivers reaches this session through `held`, without duplicates.
      while (entry.fillDone) await entry.fillDone;
    } catch (err) {
      this.unsubscribe(session, channel);
      throw err;
    }
    const held = entry.pending?.get(session);
    if (!held || this.channels.get(channel) !== entry) return; // unsubscribed or closed while joining
    entry.pending!.delete(session);
    if (entry.pending!.size === 0) entry.pending = undefined;
    session.pendingJoins -= 1;
    entry.join(session);

    if (!history) {
      onJoined({ added: true, publications: held });
      return;
    }
    const { position } = history;
    // Only live publications move a known position: a history read may run ahead of what the
    // other sessions have been sent.
    entry.position ??= position;
    const { recovered, publications, top } = catchUp(history, options.since, held);
    const live = entry.position;
    if (live.epoch === position.epoch && top > live.offset) (entry.ahead ??= new Map()).set(session, { offset: top, epoch: position.epoch });
    onJoined({ added: true, recovered, position: { offset: top, epoch: position.epoch }, publications });
  }

  /** Removes the session from the channel; false if it was not subscribed. */
  unsubscribe(session: S, channel: string): boolean {
    const entry = this.channels.get(channel);
    if (!entry) return false;
    if (entry.pending?.delete(session)) {
      session.pendingJoins -= 1;
      if (entry.pending.size === 0) entry.pending = undefined;
    } else if (!entry.groups[session.format]?.delete(session)) {
      return false;
    }
    entry.size -= 1;
    entry.ahead?.delete(session);
    session.channels.delete(channel);
    this.subscriptionTotal -= 1;
    if (entry.size === 0) {
      this.channels.delete(channel);
      void this.broker.unsubscribe(channel).catch(() => {});
    }
    return true;
  }

  unsubscribeAll(session: S): string[] {
    const channels = [...session.channels];
    for (const channel of channels) this.unsubscribe(session, channel);
    return channels;
  }

  /**
   * Fans a publication out to the local subscribers; returns how many were reached. On a channel
   * with history the subscribers get every publication once and in offset order: one already
   * delivered is dropped, and one past a gap (lost while the broker connection was down) waits
   * until the gap is read from history.
   */
  dispatch(pub: Publication): number {
    const entry = this.channels.get(pub.channel);
    if (!entry) return 0;
    if (pub.presence) {
      const { type, user, session } = pub.presence;
      this.sendControl(pub.channel, { type, channel: pub.channel, user, session }, (s) => s.id === session);
      return entry.size;
    }
    if (pub.offset !== undefined && entry.position) {
      if (entry.filling) {
        entry.filling.push(pub);
        return entry.size;
      }
      const arrival = arrivalOf(entry.position, pub.offset, pub.epoch);
      if (arrival === 'sent') return entry.size;
      if (arrival === 'gap') {
        this.startFill(pub.channel, entry, [pub]);
        return entry.size;
      }
    }
    let skip: Set<S> | undefined;
    if (pub.offset !== undefined) {
      if (entry.ahead) skip = this.alreadySent(entry, entry.ahead, pub);
      entry.position = { offset: pub.offset, epoch: pub.epoch! };
      entry.cursorText = undefined;
    }
    const channelJson = JSON.stringify(pub.channel);
    const dataJson = JSON.stringify(pub.data);
    const position = positionJson(pub.offset, pub.epoch);
    const { groups } = entry;
    for (let format = 0; format < wireFormatCount; format++) {
      const group = groups[format];
      if (!group || group.size === 0) continue;
      const deliver = this.deliverers[format];
      if (deliver) {
        deliver.toChannel(pub, group, skip);
        continue;
      }
      const bytes = encodePublication(format as SharedFormat, channelJson, dataJson, position);
      let sent = 0;
      for (const session of group) {
        if (skip?.has(session)) continue;
        session.enqueue(bytes);
        sent += 1;
      }
      this.stats.messagesOut[format]! += sent;
      this.stats.bytesOut[format]! += bytes.length * sent;
    }
    if (entry.pending) for (const held of entry.pending.values()) held.push(pub);
    return entry.size;
  }

  /**
   * The sessions whose replay already held this publication (undefined when none); those it brings
   * level with the live stream stop being ahead, and so do all when a new stream (another epoch) began.
   */
  private alreadySent(entry: ChannelSubscribers<S>, ahead: Map<S, StreamPosition>, pub: Publication): Set<S> | undefined {
    let skip: Set<S> | undefined;
    for (const [session, { offset, epoch }] of ahead) {
      if (epoch === pub.epoch && offset >= pub.offset!) (skip ??= new Set()).add(session);
      if (epoch !== pub.epoch || offset <= pub.offset!) ahead.delete(session);
    }
    if (ahead.size === 0) entry.ahead = undefined;
    return skip;
  }

  /**
   * After the broker connection came back: reads what each channel with history missed meanwhile
   * and delivers it in order, before the live publications that arrive during the read.
   */
  resync(): void {
    for (const [channel, entry] of this.channels) {
      if (entry.position && !entry.filling) this.startFill(channel, entry, []);
    }
  }

  private startFill(channel: string, entry: ChannelSubscribers<S>, held: Publication[]): void {
    entry.filling = held;
    const done: Promise<void> = this.fill(channel, entry).finally(() => {
      if (entry.fillDone === done) entry.fillDone = undefined;
    });
    entry.fillDone = done;
  }

  /** Reads the publications after the channel's position from history, then delivers them and those held meanwhile. */
  private async fill(channel: string, entry: ChannelSubscribers<S>): Promise<void> {
    const since = entry.position!;
    let result;
    // The broker may be coming back (a gap is often seen on the first live publication after a
    // reconnection, before the history connection is up): try again for a few seconds.
    for (let attempt = 0; this.channels.get(channel) === entry; attempt++) {
      try {
        result = await this.broker.history(channel, { since });
        break;
      } catch {
        if (attempt === fillAttempts) break;
        await sleep(backoffDelay(fillBackoff, attempt + 1), undefined, { ref: false });
      }
    }
    if (this.channels.get(channel) !== entry) return; // every subscriber left meanwhile
    const held = entry.filling ?? [];
    entry.filling = undefined;
    const outcome = fillOutcome(since, result);
    if (!result || outcome === 'lost') {
      // History no longer holds the gap (or cannot be read): the subscribers recover on their own.
      this.onLost(channel, this.subscribers(channel));
      entry.position = result?.position.epoch ? result.position : undefined;
      entry.cursorText = undefined;
      if (result) for (const pub of held) this.dispatch(pub);
      return;
    }
    // The stream is gone (a broker that came back empty) and history holds a new one from its start.
    if (outcome === 'new_stream') {
      entry.position = { offset: 0, epoch: result.position.epoch };
      entry.cursorText = undefined;
    }
    for (const pub of result.publications) this.dispatch(pub);
    for (const pub of held) this.dispatch(pub);
  }

  /** Sends a protocol frame (join, leave) to the channel's joined subscribers, except those excluded. */
  sendControl(channel: string, frame: ServerFrame, exclude: (session: S) => boolean = () => false): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    for (let format = 0; format < wireFormatCount; format++) {
      const group = entry.groups[format];
      if (!group || group.size === 0) continue;
      const bytes = encodeControl(format as WireFormat, frame);
      if (!bytes) continue;
      for (const session of group) if (!exclude(session)) session.enqueue(bytes);
    }
  }

  /**
   * The cursor of everything queued for the session so far on its channels with history, or
   * undefined while it is still joining a channel (its replay is not queued yet).
   */
  cursorOf(session: S): string | undefined {
    if (session.pendingJoins > 0) return undefined;
    if (session.channels.size === 1) {
      const [channel] = session.channels;
      const entry = this.channels.get(channel!);
      if (!entry?.position) return undefined;
      const ahead = entry.ahead?.get(session);
      if (ahead) return encodeCursor([[channel!, ahead]]);
      return (entry.cursorText ??= encodeCursor([[channel!, entry.position]]));
    }
    const positions: [string, StreamPosition][] = [];
    for (const channel of session.channels) {
      const entry = this.channels.get(channel);
      const position = entry && positionOf(entry, session);
      if (position) positions.push([channel, position]);
    }
    return positions.length > 0 ? encodeCursor(positions) : undefined;
  }

  subscriberCount(channel: string): number {
    return this.channels.get(channel)?.size ?? 0;
  }

  subscribers(channel: string): S[] {
    const entry = this.channels.get(channel);
    if (!entry) return [];
    return [...entry.groups.flatMap((group) => (group ? [...group] : [])), ...(entry.pending?.keys() ?? [])];
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
