import { randomBytes } from 'node:crypto';
import { headers, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { unavailableError } from '../errors.js';
import { connectNats, natsName } from '../backends/nats.js';
import type {
  Broker,
  ControlBus,
  ControlMessage,
  HistoryOptions,
  HistoryQuery,
  HistoryResult,
  PresenceMember,
  PresenceStore,
  Publication,
  StreamPosition,
} from './broker.js';

export interface NatsBrokerOptions {
  /** Comma-separated server URLs (tls:// for TLS). */
  servers: string;
  /** Prefix of every subject, stream and bucket name, so several deployments can share one NATS. */
  prefix: string;
  user?: string;
  pass?: string;
  token?: string;
}

/** Headers every history message carries: its position, when it was published and the channel's limits then. */
const H_OFFSET = 'Sb-Offset';
const H_EPOCH = 'Sb-Epoch';
const H_TIME = 'Sb-Time';
const H_TTL = 'Sb-Ttl';
const H_SIZE = 'Sb-Size';

/** Longest any NATS operation may take before it fails with `unavailable`. */
const OPERATION_TIMEOUT = 5000;
/** A channel's publish retries this often when other nodes keep winning the race for the next offset. */
const MAX_PUBLISH_ATTEMPTS = 100;
/** Presence entries are filtered by their own expiry; the bucket's max age only collects the garbage of dead nodes. */
const PRESENCE_MIN_MAX_AGE = 10 * 60_000;
/** Node clocks may disagree a little; the history stream's max age leaves them this much room. */
const CLOCK_MARGIN = 60_000;
const TEN_YEARS = 10 * 365 * 24 * 3600_000;
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

/** The history stream's limits (max age 0: none). */
interface Limits {
  perSubject: number;
  maxAge: number;
}

/** A message body: data, time, and for a presence event (join/leave, never stored) `p`. */
type Body = { d: unknown; t: number; p?: Publication['presence'] };

/** A channel name as one subject token (and KV key token): base64url, never empty. */
function token(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url') || '_';
}

function newEpoch(): string {
  return randomBytes(4).toString('hex');
}

/** Whether the channel's history ended with this last message: no position, or older than its ttl. */
function ended(tail: Tail, now: number): boolean {
  return tail.epoch === '' || (tail.ttl > 0 && now - tail.time > tail.ttl);
}

/** What the stream must keep for a channel with these options: every kept publication of a live epoch. */
function limitsFor(history: HistoryOptions): Limits {
  const size = Math.max(1, history.size);
  // Within one epoch consecutive publications are at most ttl apart (else the epoch ended), and the
  // newest is younger than ttl: the oldest kept one is younger than (size + 1) * ttl.
  const maxAge = history.ttl > 0 ? Math.min((size + 1) * history.ttl + CLOCK_MARGIN, TEN_YEARS) : 0;
  return { perSubject: size, maxAge };
}

function covers(have: Limits, need: Limits): boolean {
  return have.perSubject >= need.perSubject && (have.maxAge === 0 || (need.maxAge !== 0 && have.maxAge >= need.maxAge));
}

function merge(a: Limits, b: Limits): Limits {
  return { perSubject: Math.max(a.perSubject, b.perSubject), maxAge: a.maxAge === 0 || b.maxAge === 0 ? 0 : Math.max(a.maxAge, b.maxAge) };
}

function limitsOf(config: StreamConfig): Limits {
  return { perSubject: config.max_msgs_per_subject, maxAge: Math.round(config.max_age / 1e6) };
}

/** A message without a position (not written by a broker) decodes with offset 0 and epoch ''. */
function decodeStored(seq: number, hdrs: MsgHdrs | undefined, data: Uint8Array): Stored {
  const offset = Number(hdrs?.get(H_OFFSET));
  const epoch = hdrs?.get(H_EPOCH);
  if (!hdrs || !epoch || !Number.isSafeInteger(offset) || offset < 1) return { seq, offset: 0, epoch: '', time: 0, ttl: 0, size: 1, data };
  return { seq, offset, epoch, time: Number(hdrs.get(H_TIME)) || 0, ttl: Number(hdrs.get(H_TTL)) || 0, size: Math.max(1, Number(hdrs.get(H_SIZE)) || 1), data };
}

function toPublication(channel: string, stored: Stored): Publication {
  const body = JSON.parse(Buffer.from(stored.data).toString('utf8')) as Body;
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
 * NATS with JetStream (2.9 or later).
 *
 * - Live fan-out on core subjects `<prefix>.live.<channel token>`, one subscription per channel
 *   per node. Publications without history are published there directly.
 * - History in one JetStream stream `<prefix>_history` with a subject `<prefix>.hist.<channel token>`
 *   per channel (max_msgs_per_subject keeps historySize of them). Each message carries its offset
 *   and epoch in headers. A publish reads the channel's last message (or remembers it from its own
 *   last publish) and appends with the expected-last-subject-sequence of that message, so offsets
 *   are assigned by optimistic concurrency: when another node won the race the append is refused,
 *   the node reads the new last message and tries again. The next offset is last + 1 in the last
 *   message's epoch, or 1 in a new random epoch when the channel has no message (never published,
 *   stream lost) or its last message is older than its ttl: the history "lives ttl after its last
 *   publication" exactly as with Redis, whole, not message by message.
 * - The stream republishes every stored message to the channel's live subject, so subscribers see
 *   the publications of a history channel in stream order, which is offset order, whichever nodes
 *   published them.
 * - Presence in the KV bucket `<prefix>_presence`, one key per channel and session holding the
 *   member and its expiry; lists skip and delete (only if unchanged) entries past their expiry.
 *   The bucket's max age is a safety net, well above any presence ttl.
 * - Control messages on the core subject `<prefix>.control`.
 */
export class NatsBroker implements Broker {
  readonly name = 'nats';
  readonly presence: PresenceStore;
  readonly control: ControlBus;
  private readonly options: NatsBrokerOptions;
  private readonly base: string;
  private readonly historyStream: string;
  private readonly presenceBucket: string;
  private readonly controlSubject: string;
  private nc: NatsConnection | undefined;
  private js!: JetStreamClient;
  private jsm!: JetStreamManager;
  private kv!: KV;
  private up = false;
  private closing = false;
  /** Operations in flight: they fail at once when the connection drops rather than time out. */
  private readonly inFlight = new Set<(err: Error) => void>();
  private handler: (pub: Publication) => void = () => {};
  private controlHandler: (message: ControlMessage) => void = () => {};
  private reconnectHandler: () => void = () => {};
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly tails = new Map<string, Tail>();
  /** Per-key promise chains: one history append per channel at a time on this node. */
  private readonly chains = new Map<string, Promise<void>>();
  private limits: Limits | undefined;
  private limitsCheckedAt = 0;
  private presenceMaxAge = 0;
  private pendingFlush: Promise<void> | undefined;

  constructor(options: NatsBrokerOptions) {
    this.options = options;
    this.base = natsName(options.prefix);
    this.historyStream = `${this.base}_history`;
    this.presenceBucket = `${this.base}_presence`;
    this.controlSubject = `${this.base}.control`;

    this.control = {
      publish: async (message) => {
        await this.run(async () => {
          this.connection().publish(this.controlSubject, JSON.stringify(message));
          await this.flushed();
        });
      },
      onMessage: (handler) => {
        this.controlHandler = handler;
      },
    };
    this.presence = {
      add: async (channel, members, ttl) => {
        if (members.length === 0) return;
        await this.run(async () => {
          await this.ensurePresenceMaxAge(ttl);
          const e = Date.now() + ttl;
          await Promise.all(members.map((m) => this.kv.put(this.presenceKey(channel, m.session), JSON.stringify({ m, e }))));
        });
      },
      remove: async (channel, sessions) => {
        if (sessions.length === 0) return;
        await this.run(() => Promise.all(sessions.map((s) => this.kv.delete(this.presenceKey(channel, s)))));
      },
      list: (channel) => this.run(() => this.listPresence(channel)),
    };
  }

  get healthy(): boolean {
    return this.up;
  }

  /** Connects, checks JetStream and opens the presence bucket; throws `unavailable` when NATS cannot be reached. */
  async connect(): Promise<void> {
    try {
      this.nc = await connectNats(this.options, { name: 'switchboard', timeout: OPERATION_TIMEOUT, client: { pingInterval: 10_000, maxPingOut: 3 } });
    } catch (err) {
      throw unavailableError('the broker', err);
    }
    const nc = this.nc;
    try {
      this.js = jetstream(nc, { timeout: OPERATION_TIMEOUT });
      this.jsm = await jetstreamManager(nc, { timeout: OPERATION_TIMEOUT });
      this.kv = await new Kvm(this.js).create(this.presenceBucket, { history: 1, ttl: PRESENCE_MIN_MAX_AGE, storage: StorageType.File });
      this.presenceMaxAge = limitsOf((await this.jsm.streams.info(`KV_${this.presenceBucket}`)).config).maxAge;
      nc.subscribe(this.controlSubject, {
        callback: (err, msg) => {
          if (!err) this.receiveControl(msg);
        },
      });
      await nc.flush();
    } catch (err) {
      await nc.close().catch(() => {});
      this.nc = undefined;
      throw unavailableError('the broker', err);
    }
    this.up = true;
    void this.watchStatus(nc);
  }

  private connection(): NatsConnection {
    if (!this.nc) throw unavailableError('the broker', new Error('not connected'));
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
    // The server may have lost its store: forget what this node remembered of it.
    this.tails.clear();
    this.limits = undefined;
    this.up = true;
    this.reconnectHandler();
  }

  /** Runs an operation; fails at once while disconnected, when the connection drops, or after a bounded time. */
  private run<T>(operation: () => Promise<T>): Promise<T> {
    if (!this.up) return Promise.reject(unavailableError('the broker', new Error('not connected')));
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
  private flushed(): Promise<void> {
    if (!this.pendingFlush) {
      this.pendingFlush = Promise.resolve().then(() => {
        this.pendingFlush = undefined;
        return this.connection().flush();
      });
    }
    return this.pendingFlush;
  }

  /** Runs tasks with the same key one after the other. */
  private serial<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const chain = result.then(
      () => {},
      () => {},
    );
    this.chains.set(key, chain);
    void chain.then(() => {
      if (this.chains.get(key) === chain) this.chains.delete(key);
    });
    return result;
  }

  private liveSubject(channel: string): string {
    return `${this.base}.live.${token(channel)}`;
  }

  private historySubject(channel: string): string {
    return `${this.base}.hist.${token(channel)}`;
  }

  private presenceKey(channel: string, session: string): string {
    return `${token(channel)}.${token(session)}`;
  }

  async publish(pub: Publication, opts?: { history?: HistoryOptions }): Promise<StreamPosition | undefined> {
    const body = JSON.stringify((pub.presence ? { d: pub.data, t: pub.time, p: pub.presence } : { d: pub.data, t: pub.time }) satisfies Body);
    const history = opts?.history;
    if (!history) {
      await this.run(async () => {
        this.connection().publish(this.liveSubject(pub.channel), body);
        await this.flushed();
      });
      return undefined;
    }
    if (!this.up) throw unavailableError('the broker', new Error('not connected'));
    const position = await this.serial(pub.channel, () => this.run(() => this.append(pub.channel, body, history)));
    pub.offset = position.offset;
    pub.epoch = position.epoch;
    return position;
  }

  /** Appends to the channel's history at the next offset, retrying when another node appended first. */
  private async append(channel: string, body: string, history: HistoryOptions): Promise<StreamPosition> {
    await this.ensureStream(limitsFor(history));
    const subject = this.historySubject(channel);
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
        const ack = await this.js.publish(subject, body, { headers: h, expect: { lastSubjectSequence: tail.seq } });
        next.seq = ack.seq;
        this.remember(channel, next);
        return { offset: next.offset, epoch: next.epoch };
      } catch (err) {
        this.tails.delete(channel);
        tail = undefined;
        if (isApiError(err, JetStreamApiCodes.StreamWrongLastSequence) && attempt < MAX_PUBLISH_ATTEMPTS) {
          // Another node appended first. Back off a little when that keeps happening.
          if (attempt > 3) await new Promise((r) => setTimeout(r, Math.random() * Math.min(attempt, 20)));
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
    await this.serial('\0stream', async () => {
      let lastError: unknown;
      for (let attempt = 0; attempt < 5; attempt++) {
        if (this.limits && covers(this.limits, need) && Date.now() - this.limitsCheckedAt < LIMITS_RECHECK) return;
        this.limitsCheckedAt = Date.now();
        const info = await this.jsm.streams.info(this.historyStream).catch((err: unknown) => {
          if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return undefined;
          throw err;
        });
        if (!info) {
          try {
            this.limits = limitsOf((await this.jsm.streams.add(this.streamConfig(need))).config);
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
        const updated = await this.jsm.streams
          .update(this.historyStream, {
            max_msgs_per_subject: wanted.perSubject,
            max_age: wanted.maxAge * 1e6,
            duplicate_window: this.duplicateWindow(wanted),
            republish,
          })
          .catch((err: unknown) => {
            if (republishes) throw err;
            // Without it subscribers would not get the publications of history channels.
            throw new Error(`stream ${this.historyStream} does not republish ${republish.src} to ${republish.dest} (${(err as Error).message}); delete it to let the broker create it`);
          });
        this.limits = limitsOf(updated.config);
      }
      if (!this.limits || !covers(this.limits, need)) throw lastError ?? new Error('the history stream could not be given the limits it needs');
    });
  }

  /** The duplicate window may not exceed the max age; publications carry no message id anyway. */
  private duplicateWindow(limits: Limits): number {
    return Math.min(120_000, limits.maxAge || 120_000) * 1e6;
  }

  private streamConfig(limits: Limits): Partial<StreamConfig> & { name: string } {
    return {
      name: this.historyStream,
      description: 'Switchboard channel history',
      subjects: [`${this.base}.hist.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: limits.perSubject,
      max_msgs: -1,
      max_bytes: -1,
      max_age: limits.maxAge * 1e6,
      duplicate_window: this.duplicateWindow(limits),
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
      const msg = await this.jsm.streams.getMessage(this.historyStream, { last_by_subj: this.historySubject(channel) });
      return msg ? decodeStored(msg.seq, msg.header, msg.data) : undefined;
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return undefined;
      throw err;
    }
  }

  async history(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    return this.run(async () => {
      // A publication between reading the last message and the rest can trim what was to be read: read again.
      for (let attempt = 1; ; attempt++) {
        const { result, complete } = await this.readHistory(channel, query);
        if (complete) return result;
        if (attempt === 3) {
          // Still a gap: the stream may keep less than this node believes; look at it on the next publish.
          this.limits = undefined;
          return result;
        }
      }
    });
  }

  private async readHistory(channel: string, q: HistoryQuery): Promise<{ result: HistoryResult; complete: boolean }> {
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
    const stored = (await this.readStream(this.historyStream, this.historySubject(channel), DeliverPolicy.All))
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

  /** Every message of a stream matching the filter (or the last of each subject), through an ordered consumer. */
  private async readStream(stream: string, filter: string, policy: DeliverPolicy): Promise<{ seq: number; subject: string; headers: MsgHdrs | undefined; data: Uint8Array }[]> {
    const consumer = await this.js.consumers.get(stream, { filter_subjects: filter, deliver_policy: policy, inactive_threshold: 30_000 });
    try {
      const pending = (await consumer.info(true)).num_pending;
      const out: { seq: number; subject: string; headers: MsgHdrs | undefined; data: Uint8Array }[] = [];
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

  private async ensurePresenceMaxAge(ttl: number): Promise<void> {
    const need = Math.max(PRESENCE_MIN_MAX_AGE, 2 * ttl);
    if (this.presenceMaxAge >= need) return;
    await this.serial('\0presence', async () => {
      if (this.presenceMaxAge >= need) return;
      const info = await this.jsm.streams.info(`KV_${this.presenceBucket}`);
      const have = limitsOf(info.config).maxAge;
      this.presenceMaxAge = have >= need ? have : limitsOf((await this.jsm.streams.update(`KV_${this.presenceBucket}`, { max_age: need * 1e6 })).config).maxAge;
    });
  }

  private async listPresence(channel: string): Promise<PresenceMember[]> {
    const prefix = `$KV.${this.presenceBucket}.`;
    const read = await this.readStream(`KV_${this.presenceBucket}`, `${prefix}${token(channel)}.*`, DeliverPolicy.LastPerSubject);
    // A write that lands while the stream is read arrives as a second entry for its key: the later one counts.
    const entries = new Map(read.map((entry) => [entry.subject, entry])).values();
    const now = Date.now();
    const members: PresenceMember[] = [];
    for (const entry of entries) {
      const operation = entry.headers?.get('KV-Operation');
      if (operation === 'DEL' || operation === 'PURGE') continue;
      let value: { m: PresenceMember; e: number };
      try {
        value = JSON.parse(Buffer.from(entry.data).toString('utf8')) as { m: PresenceMember; e: number };
      } catch {
        continue;
      }
      if (value.e > now) {
        members.push(value.m);
        continue;
      }
      // Expired: delete it, unless its node refreshed it meanwhile.
      const key = this.presenceKey(channel, value.m.session);
      this.kv.delete(key, { previousSeq: entry.seq }).catch(() => {});
    }
    return members;
  }

  async subscribe(channel: string): Promise<void> {
    if (!this.up) throw unavailableError('the broker', new Error('not connected'));
    if (!this.subscriptions.has(channel)) {
      const sub = this.connection().subscribe(this.liveSubject(channel), {
        callback: (err, msg) => {
          if (!err) this.receive(channel, msg);
        },
      });
      this.subscriptions.set(channel, sub);
    }
    // The server has the subscription once it answered the flush.
    await this.run(() => this.flushed());
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

  private receiveControl(msg: Msg): void {
    let message: ControlMessage;
    try {
      message = msg.json<ControlMessage>();
    } catch {
      return;
    }
    this.controlHandler(message);
  }

  onPublication(handler: (pub: Publication) => void): void {
    this.handler = handler;
  }

  onReconnect(handler: () => void): void {
    this.reconnectHandler = handler;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.markDown('closed');
    this.subscriptions.clear();
    const nc = this.nc;
    this.nc = undefined;
    if (nc && !nc.isClosed()) await nc.close().catch(() => {});
  }
}
