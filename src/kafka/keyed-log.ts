import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from 'kafkajs';
import { Backoff } from '../backends/backoff.js';
import type { PartitionLog } from './partition-log.js';

/** A record's state in a {@link KeyedLog}. */
export interface KeyedEntry<T> {
  value: T;
  /** The record's timestamp (ms since the epoch). */
  time: number;
  /** When set, the entry counts as absent from this time on (ms since the epoch). */
  expiresAt?: number;
}

/** Header marking a write that only applies when the key is absent (or expired). */
const IF_ABSENT_HEADER = 'sb-if-absent';
const EXPIRES_HEADER = 'sb-expires-at';
/** How long one fetch of the follower waits for new records. */
const FOLLOW_WAIT_MS = 500;

/**
 * A key/value map kept as an append-only Kafka topic (partition 0 only): every node reads it from
 * the beginning at start and follows it; the last record per key wins and a record without a value
 * deletes its key (a tombstone, so the topic may be compacted). A conditional write ("only if
 * absent") is decided by log order, the same way on every node: the writer appends it, waits
 * until its own follower applied that offset and learns whether it won.
 */
export class KeyedLog<T> {
  private readonly entries = new Map<string, KeyedEntry<T>>();
  /** Outcome of the conditional writes this node is waiting for, by offset. */
  private readonly outcomes = new Map<number, boolean>();
  private nextOffset = 0;
  private waiters: { offset: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private failure: Error | undefined;
  private changeListener: ((key: string, entry: KeyedEntry<T> | undefined) => void) | undefined;

  constructor(
    private readonly topic: string,
    private readonly log: PartitionLog,
    private readonly producer: Producer,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Called for every applied change after the initial catch-up (by the follower, in log order). */
  onChange(listener: (key: string, entry: KeyedEntry<T> | undefined) => void): void {
    this.changeListener = listener;
  }

  /** Reads the log to its current end, then keeps following it. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.log.partitions(this.topic);
    this.running = true;
    const [range] = (await this.log.ranges(this.topic)).filter((r) => r.partition === 0);
    this.nextOffset = range?.low ?? 0;
    this.loop = this.follow();
    await this.waitFor((range?.high ?? 0) - 1);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    for (const w of this.waiters.splice(0)) w.reject(new Error('stopped'));
  }

  private async follow(): Promise<void> {
    const backoff = new Backoff({ initial: 100, max: 5000, jitter: 'none' });
    while (this.running) {
      try {
        const records = await this.log.fetch(this.topic, 0, this.nextOffset, { maxWaitMs: FOLLOW_WAIT_MS });
        for (const record of records) {
          const key = record.key?.toString() ?? '';
          const expires = record.headers.get(EXPIRES_HEADER);
          const entry: KeyedEntry<T> | undefined = record.value ? { value: JSON.parse(record.value.toString()) as T, time: record.timestamp } : undefined;
          if (entry && expires !== undefined) entry.expiresAt = Number(expires);
          const conditional = record.headers.has(IF_ABSENT_HEADER);
          const applies = !conditional || this.live(key, record.timestamp) === undefined;
          if (applies) {
            if (entry) this.entries.set(key, entry);
            else this.entries.delete(key);
            this.changeListener?.(key, entry);
          }
          if (conditional) this.remember(record.offset, applies);
          this.nextOffset = record.offset + 1;
        }
        this.failure = undefined;
        backoff.reset();
        this.wake();
      } catch (err) {
        this.failure = err instanceof Error ? err : new Error(String(err));
        this.onError(err);
        await sleep(backoff.next());
      }
    }
  }

  /** Keeps the outcome of a conditional write until its writer asks; bounded, oldest first out. */
  private remember(offset: number, applied: boolean): void {
    this.outcomes.set(offset, applied);
    if (this.outcomes.size > 10_000) this.outcomes.delete(this.outcomes.keys().next().value!);
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => w.offset < this.nextOffset);
    this.waiters = this.waiters.filter((w) => w.offset >= this.nextOffset);
    for (const w of ready) w.resolve();
  }

  /** Resolves once the record at `offset` (and everything before it) is applied. */
  private waitFor(offset: number, timeoutMs = 10_000): Promise<void> {
    if (offset < this.nextOffset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(this.failure ?? new Error(`the log ${this.topic} did not reach offset ${offset} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        offset,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.waiters.push(waiter);
    });
  }

  private live(key: string, now: number): KeyedEntry<T> | undefined {
    const entry = this.entries.get(key);
    return entry && (entry.expiresAt === undefined || entry.expiresAt > now) ? entry : undefined;
  }

  /** The entry as this node has applied it (no round trip). */
  get(key: string): KeyedEntry<T> | undefined {
    return this.live(key, Date.now());
  }

  /** Every live entry whose key starts with `prefix`. */
  list(prefix: string): [string, KeyedEntry<T>][] {
    const now = Date.now();
    return [...this.entries].filter(([key, entry]) => key.startsWith(prefix) && (entry.expiresAt === undefined || entry.expiresAt > now));
  }

  /** Waits until everything written to the log so far (by any node) is applied here. */
  async catchUp(): Promise<void> {
    const [range] = (await this.log.ranges(this.topic)).filter((r) => r.partition === 0);
    await this.waitFor((range?.high ?? 0) - 1);
  }

  /**
   * Writes a value (or, with `undefined`, a tombstone) and resolves once it is applied here. With
   * `ifAbsent`, the write applies only when the key has no live entry; resolves with whether it did.
   */
  async put(key: string, value: T | undefined, opts: { ifAbsent?: boolean; expiresAt?: number } = {}): Promise<boolean> {
    const headers: Record<string, string> = {};
    if (opts.ifAbsent) headers[IF_ABSENT_HEADER] = '1';
    if (opts.expiresAt !== undefined) headers[EXPIRES_HEADER] = String(opts.expiresAt);
    const [sent] = await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: [{ partition: 0, key, value: value === undefined ? null : JSON.stringify(value), headers }],
    });
    const offset = Number(sent!.baseOffset);
    await this.waitFor(offset);
    if (!opts.ifAbsent) return true;
    const won = this.outcomes.get(offset) ?? false;
    this.outcomes.delete(offset);
    return won;
  }
}
