import { randomBytes } from 'node:crypto';
import type { HistoryOptions, HistoryQuery, HistoryResult, Publication, StreamPosition } from './broker.js';

/**
 * One channel's bounded history in memory: offsets grow by one per publication; the epoch is new
 * each time the stream is created (process start, or after it expired), so positions from an older
 * stream are recognised as lost.
 */
class Stream {
  readonly epoch = randomBytes(4).toString('hex');
  offset = 0;
  /** Kept publications, oldest first; entries before `head` are already dropped. */
  private items: Publication[] = [];
  private head = 0;

  /** When the last publication was appended. */
  lastAppend = 0;

  append(pub: Publication, size: number, now: number): void {
    this.offset += 1;
    this.lastAppend = now;
    pub.offset = this.offset;
    pub.epoch = this.epoch;
    this.items.push(pub);
    const excess = this.items.length - this.head - size;
    if (excess > 0) this.head += excess;
    // Compact once the dropped prefix outgrows what is kept, so trimming stays amortised O(1).
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Kept publications after `sinceOffset` (all kept when undefined), oldest first. */
  after(sinceOffset: number | undefined): Publication[] {
    if (sinceOffset === undefined) return this.items.slice(this.head);
    const first = this.items[this.head];
    if (!first) return [];
    const start = this.head + Math.max(0, sinceOffset + 1 - first.offset!);
    return this.items.slice(start);
  }

  position(): StreamPosition {
    return { offset: this.offset, epoch: this.epoch };
  }
}

/**
 * History for every channel of a memory broker. As with Redis and NATS, a stream lives `ttl` after
 * its last publication, then it is gone as a whole (the next publication starts a new epoch).
 */
export class MemoryStreams {
  private readonly streams = new Map<string, { stream: Stream; options: HistoryOptions }>();

  /** Gives the publication its offset and epoch and keeps it within the channel's limits. */
  append(pub: Publication, options: HistoryOptions): StreamPosition {
    const now = Date.now();
    let entry = this.live(pub.channel, now);
    if (!entry) {
      entry = { stream: new Stream(), options };
      this.streams.set(pub.channel, entry);
    }
    entry.options = options;
    entry.stream.append(pub, options.size, now);
    return entry.stream.position();
  }

  query(channel: string, q: HistoryQuery): HistoryResult {
    const entry = this.live(channel, Date.now());
    if (!entry) return { publications: [], position: { offset: 0, epoch: '' } };
    const { stream } = entry;
    const position = stream.position();
    const sameEpoch = q.since !== undefined && q.since.epoch === stream.epoch;
    let publications = stream.after(sameEpoch ? q.since!.offset : undefined);
    if (q.reverse) publications.reverse();
    if (q.limit !== undefined && publications.length > q.limit) publications = publications.slice(0, q.limit);
    return { publications, position };
  }

  /** The stream of a channel, unless it expired. */
  private live(channel: string, now: number) {
    const entry = this.streams.get(channel);
    if (!entry) return undefined;
    if (entry.options.ttl > 0 && now - entry.stream.lastAppend > entry.options.ttl) {
      this.streams.delete(channel);
      return undefined;
    }
    return entry;
  }
}
