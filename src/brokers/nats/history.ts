import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { DeliverPolicy, DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import type { HistoryOptions, HistoryQuery, HistoryResult, Publication, StreamPosition } from '../broker.js';
import { notConnected, token, type BrokerConnection } from './connection.js';
import { covers, duplicateWindow, limitsFor, limitsOf, merge, type Limits } from './limits.js';
import { Serial } from './serial.js';

/** Headers every history message carries: its position, when it was published and the channel's limits then. */
export const H_OFFSET = 'Sb-Offset';
export const H_EPOCH = 'Sb-Epoch';
const H_TIME = 'Sb-Time';
const H_TTL = 'Sb-Ttl';
const H_SIZE = 'Sb-Size';

/** A channel's publish retries this often when other nodes keep winning the race for the next offset. */
const MAX_PUBLISH_ATTEMPTS = 100;
/** How long this node trusts what it knows of the history stream's limits (someone may have changed them). */
const LIMITS_RECHECK = 60_000;
/** Channels whose last stored position this node remembers, so a publish needs no read first. */
const MAX_TAILS = 10_000;

/** The last publication of a channel's history: where the next one continues (or whether it starts a new epoch). */
interface Tail {
  /** Stream sequence, the expected last subject sequence of the next publish. */
  seq: number;
  offset: number;
  epoch: string;
  /** When it was published (ms since the epoch) and the channel's limits then. */
  time: number;
  ttl: number;
  size: number;
}

/** A stored history message, decoded. */
interface Stored extends Tail {
  data: Uint8Array;
}

function newEpoch(): string {
  return randomBytes(4).toString('hex');
}

/** Whether the channel's history ended with this last message: no position, or older than its ttl. */
function ended(tail: Tail, now: number): boolean {
  return tail.epoch === '' || (tail.ttl > 0 && now - tail.time > tail.ttl);
}

/** A message without a position (not written by a broker) decodes with offset 0 and epoch ''. */
function decodeStored(seq: number, hdrs: MsgHdrs | undefined, data: Uint8Array): Stored {
  const offset = Number(hdrs?.get(H_OFFSET));
  const epoch = hdrs?.get(H_EPOCH);
  if (!hdrs || !epoch || !Number.isSafeInteger(offset) || offset < 1) return { seq, offset: 0, epoch: '', time: 0, ttl: 0, size: 1, data };
  return { seq, offset, epoch, time: Number(hdrs.get(H_TIME)) || 0, ttl: Number(hdrs.get(H_TTL)) || 0, size: Math.max(1, Number(hdrs.get(H_SIZE)) || 1), data };
}

function toPublication(channel: string, stored: Stored): Publication {
  const body = JSON.parse(Buffer.from(stored.data).toString('utf8')) as { d: unknown; t: number };
  return { channel, data: body.d, time: body.t, offset: stored.offset, epoch: stored.epoch };
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/** A publish whose subject no stream captures (the stream was lost) answers "no responders". */
function isNoStream(err: unknown): boolean {
  return (err instanceof Error && err.name === 'JetStreamNotEnabled') || isApiError(err, JetStreamApiCodes.StreamNotFound);
}

/**
 * History in one JetStream stream `<prefix>_history` with a subject `<prefix>.hist.<channel token>`
 * per channel (max_msgs_per_subject keeps historySize of them). Each message carries its offset
 * and epoch in headers. A publish reads the channel's last message (or remembers it from its own
 * last publish) and appends with the expected-last-subject-sequence of that message, so offsets
 * are assigned by optimistic concurrency: when another node won the race the append is refused,
 * the node reads the new last message and tries again. The next offset is last + 1 in the last
 * message's epoch, or 1 in a new random epoch when the channel has no message (never published,
 * stream lost) or its last message is older than its ttl: the history "lives ttl after its last
 * publication" exactly as with Redis, whole, not message by message.
 *
 * The stream republishes every stored message to the channel's live subject, so subscribers see
 * the publications of a history channel in stream order, which is offset order, whichever nodes
 * published them.
 */
export class NatsHistory {
  private readonly stream: string;
  private readonly tails = new Map<string, Tail>();
  /** One history append per channel at a time on this node, and one change of the stream's limits. */
  private readonly serial = new Serial();
  private limits: Limits | undefined;
  private limitsCheckedAt = 0;

  constructor(
    private readonly connection: BrokerConnection,
    private readonly base: string,
  ) {
    this.stream = `${base}_history`;
  }

  /** The server may have lost its store: forget what this node remembered of it. */
  forget(): void {
    this.tails.clear();
    this.limits = undefined;
  }

  private subject(channel: string): string {
    return `${this.base}.hist.${token(channel)}`;
  }

  /** Appends `body` (the encoded publication) at the channel's next offset; the stream republishes it live. */
  async append(pub: Publication, body: string, history: HistoryOptions): Promise<StreamPosition> {
    if (!this.connection.healthy) throw notConnected();
    const position = await this.serial.run(pub.channel, () => this.connection.run(() => this.appendNext(pub.channel, body, history)));
    pub.offset = position.offset;
    pub.epoch = position.epoch;
    return position;
  }

  /** Appends at the next offset, retrying when another node appended first. */
  private async appendNext(channel: string, body: string, history: HistoryOptions): Promise<StreamPosition> {
    await this.ensureStream(limitsFor(history));
    const subject = this.subject(channel);
    let tail = this.tails.get(channel);
    let streamRecreated = false;
    for (let attempt = 1; ; attempt++) {
      if (!tail) tail = (await this.readTail(channel)) ?? { seq: 0, offset: 0, epoch: '', time: 0, ttl: 0, size: 1 };
      const now = Date.now();
      const continues = tail.seq > 0 && !ended(tail, now);
      const next: Tail = {
        seq: 0,
        offset: continues ? tail.offset + 1 : 1,
        epoch: continues ? tail.epoch : newEpoch(),
        time: now,
        ttl: history.ttl,
        size: Math.max(1, history.size),
      };
      const h = headers();
      h.set(H_OFFSET, String(next.offset));
      h.set(H_EPOCH, next.epoch);
      h.set(H_TIME, String(next.time));
      h.set(H_TTL, String(next.ttl));
      h.set(H_SIZE, String(next.size));
      try {
        const ack = await this.connection.js.publish(subject, body, { headers: h, expect: { lastSubjectSequence: tail.seq } });
        next.seq = ack.seq;
        this.remember(channel, next);
        return { offset: next.offset, epoch: next.epoch };
      } catch (err) {
        this.tails.delete(channel);
        tail = undefined;
        if (isApiError(err, JetStreamApiCodes.StreamWrongLastSequence) && attempt < MAX_PUBLISH_ATTEMPTS) {
          // Another node appended first. Back off a little when that keeps happening.
          if (attempt > 3) await sleep(Math.random() * Math.min(attempt, 20));
          continue;
        }
        if (isNoStream(err) && !streamRecreated) {
          streamRecreated = true;
          this.limits = undefined;
          await this.ensureStream(limitsFor(history));
          continue;
        }
        throw err;
      }
    }
  }

  private remember(channel: string, tail: Tail): void {
    this.tails.delete(channel);
    this.tails.set(channel, tail);
    if (this.tails.size > MAX_TAILS) this.tails.delete(this.tails.keys().next().value!);
  }

  /** Creates the history stream, or widens its limits, so it keeps what these options need. */
  private async ensureStream(need: Limits): Promise<void> {
    if (this.limits && covers(this.limits, need) && Date.now() - this.limitsCheckedAt < LIMITS_RECHECK) return;
    const { jsm } = this.connection;
    await this.serial.run('\0stream', async () => {
      let lastError: unknown;
      for (let attempt = 0; attempt < 5; attempt++) {
        if (this.limits && covers(this.limits, need) && Date.now() - this.limitsCheckedAt < LIMITS_RECHECK) return;
        this.limitsCheckedAt = Date.now();
        const info = await jsm.streams.info(this.stream).catch((err: unknown) => {
          if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return undefined;
          throw err;
        });
        if (!info) {
          try {
            this.limits = limitsOf((await jsm.streams.add(this.streamConfig(need))).config);
          } catch (err) {
            // Another node may have created it at the same moment, perhaps with other limits: look again.
            if (!(err instanceof JetStreamApiError)) throw err;
            lastError = err;
          }
          continue;
        }
        const have = limitsOf(info.config);
        const republish = this.republish();
        const republishes = info.config.republish?.src === republish.src && info.config.republish.dest === republish.dest;
        if (covers(have, need) && republishes) {
          this.limits = have;
          return;
        }
        const wanted = merge(have, need);
        const updated = await jsm.streams
          .update(this.stream, {
            max_msgs_per_subject: wanted.perSubject,
            max_age: wanted.maxAge * 1e6,
            duplicate_window: duplicateWindow(wanted),
            republish,
          })
          .catch((err: unknown) => {
            if (republishes) throw err;
            // Without it subscribers would not get the publications of history channels.
            throw new Error(`stream ${this.stream} does not republish ${republish.src} to ${republish.dest} (${(err as Error).message}); delete it to let the broker create it`);
          });
        this.limits = limitsOf(updated.config);
      }
      if (!this.limits || !covers(this.limits, need)) throw lastError ?? new Error('the history stream could not be given the limits it needs');
    });
  }

  private streamConfig(limits: Limits): Partial<StreamConfig> & { name: string } {
    return {
      name: this.stream,
      description: 'Switchboard channel history',
      subjects: [`${this.base}.hist.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: limits.perSubject,
      max_msgs: -1,
      max_bytes: -1,
      max_age: limits.maxAge * 1e6,
      duplicate_window: duplicateWindow(limits),
      num_replicas: 1,
      allow_direct: true,
      republish: this.republish(),
    };
  }

  /** Stored messages go out on the live subjects in stream order: that is how subscribers get them. */
  private republish(): { src: string; dest: string } {
    return { src: `${this.base}.hist.>`, dest: `${this.base}.live.>` };
  }

  /** The channel's last stored publication, undefined when it has none (or the stream does not exist). */
  private async readTail(channel: string): Promise<Stored | undefined> {
    try {
      const msg = await this.connection.jsm.streams.getMessage(this.stream, { last_by_subj: this.subject(channel) });
      return msg ? decodeStored(msg.seq, msg.header, msg.data) : undefined;
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return undefined;
      throw err;
    }
  }

  read(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    return this.connection.run(async () => {
      // A publication between reading the last message and the rest can trim what was to be read: read again.
      for (let attempt = 1; ; attempt++) {
        const { result, complete } = await this.readOnce(channel, query);
        if (complete) return result;
        if (attempt === 3) {
          // Still a gap: the stream may keep less than this node believes; look at it on the next publish.
          this.limits = undefined;
          return result;
        }
      }
    });
  }

  private async readOnce(channel: string, q: HistoryQuery): Promise<{ result: HistoryResult; complete: boolean }> {
    const tail = await this.readTail(channel);
    if (!tail || ended(tail, Date.now())) return { result: { publications: [], position: { offset: 0, epoch: '' } }, complete: true };
    const position = { offset: tail.offset, epoch: tail.epoch };
    const after = q.since && q.since.epoch === tail.epoch ? q.since.offset : 0;
    const empty = { result: { publications: [], position }, complete: true };
    if (q.limit === 0 || after >= tail.offset) return empty;
    // Only the last one wanted: no need to read the others.
    if (Math.max(after, tail.offset - tail.size) + 1 === tail.offset || (q.reverse && q.limit === 1)) {
      return { result: { publications: [toPublication(channel, tail)], position }, complete: true };
    }
    const stored = (await this.connection.readStream(this.stream, this.subject(channel), DeliverPolicy.All))
      .map((m) => decodeStored(m.seq, m.headers, m.data))
      .filter((s) => s.seq <= tail.seq && s.epoch === tail.epoch);
    // What the channel keeps: a publication was dropped once a later one had `size` or more after it.
    let cut = 0;
    for (const s of stored) cut = Math.max(cut, s.offset - s.size);
    const from = Math.max(after, cut);
    const kept = stored.filter((s) => s.offset > from);
    const complete = kept.length === tail.offset - from && kept[kept.length - 1]?.offset === tail.offset;
    let publications = kept.map((s) => toPublication(channel, s));
    if (q.reverse) publications.reverse();
    if (q.limit !== undefined && publications.length > q.limit) publications = publications.slice(0, q.limit);
    return { result: { publications, position }, complete };
  }
}
