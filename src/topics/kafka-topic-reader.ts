import type { Logger } from 'pino';
import type { LogRecord, PartitionLog } from '../kafka/partition-log.js';
import { decodeStored, parsePosition } from './kafka-stored-message.js';
import type { SeekTarget, SubscriptionStats, TopicMessage, TopicStats } from './store.js';

/** Reads a topic's Kafka topic across its partitions: messages in publish order from a position or a time, and counts. */
export class KafkaTopicReader {
  constructor(
    private readonly partitionLog: PartitionLog,
    private readonly log: Logger,
  ) {}

  /** Start offsets per partition for a target: the end of each partition (no target), a position or a time. */
  async startOffsets(kafkaTopic: string, target: SeekTarget | undefined): Promise<Map<number, number>> {
    const ranges = await this.partitionLog.ranges(kafkaTopic);
    const offsets = new Map<number, number>();
    const at = target && 'position' in target ? parsePosition(target.position) : undefined;
    for (const range of ranges) {
      if (!target) offsets.set(range.partition, range.high);
      else if ('time' in target) offsets.set(range.partition, await this.partitionLog.offsetForTime(kafkaTopic, range, target.time));
      // A position names one partition's record; the others are replayed from the first record
      // published at or after it, which is what "everything after it" means across partitions.
      else if (range.partition === at!.partition) offsets.set(range.partition, Math.min(Math.max(at!.offset, range.low), range.high));
    }
    if (at) {
      const [record] = await this.partitionLog.fetch(kafkaTopic, at.partition, at.offset, { maxWaitMs: 0, maxBytes: 64 * 1024 });
      for (const range of ranges) {
        if (range.partition === at.partition) continue;
        offsets.set(range.partition, record ? await this.partitionLog.offsetForTime(kafkaTopic, range, record.timestamp) : range.high);
      }
    }
    return offsets;
  }

  /** At most `limit` messages from `from` (or the start of retention), oldest first. */
  async read(kafkaTopic: string, retentionMs: number, opts: { from?: SeekTarget; limit: number }): Promise<TopicMessage[]> {
    const starts = opts.from ? await this.startOffsets(kafkaTopic, opts.from) : undefined;
    const ranges = await this.partitionLog.ranges(kafkaTopic);
    const cutoff = retentionMs > 0 ? Date.now() - retentionMs : -Infinity;
    // From a position, records of other partitions count when published after it.
    const at = opts.from && 'position' in opts.from ? parsePosition(opts.from.position) : undefined;
    const [atRecord] = at ? await this.partitionLog.fetch(kafkaTopic, at.partition, at.offset, { maxWaitMs: 0, maxBytes: 64 * 1024 }) : [];
    const after = atRecord ? decodeStored(at!.partition, atRecord, this.log) : undefined;
    const before = (d: { message: TopicMessage; seq: number }, mark: { message: TopicMessage; seq: number }) =>
      d.message.publishTime < mark.message.publishTime || (d.message.publishTime === mark.message.publishTime && d.seq < mark.seq);
    const all: { message: TopicMessage; seq: number }[] = [];
    for (const range of ranges) {
      const from = Math.max(range.low, starts?.get(range.partition) ?? range.low);
      const records = await this.readPartition(kafkaTopic, range.partition, from, Math.min(range.high, from + opts.limit * 4 + 100));
      let taken = 0;
      for (const r of records) {
        const decoded = decodeStored(range.partition, r, this.log);
        if (!decoded || decoded.message.publishTime < cutoff || (after && before(decoded, after))) continue;
        all.push(decoded);
        if (++taken >= opts.limit) break;
      }
    }
    // Log order across partitions: by publish time, then by the publishing process's sequence.
    all.sort((a, b) => a.message.publishTime - b.message.publishTime || a.seq - b.seq);
    return all.slice(0, opts.limit).map((d) => d.message);
  }

  /** What a consumer group has yet to acknowledge, and the age of the oldest such message; `ackedAboveCommit` counts this node's acks above the committed offsets. */
  async backlog(kafkaTopic: string, groupId: string, ackedAboveCommit: () => Map<number, number>): Promise<SubscriptionStats> {
    const [ranges, committed] = await Promise.all([this.partitionLog.ranges(kafkaTopic), this.partitionLog.groupOffsets(groupId, kafkaTopic)]);
    const acked = ackedAboveCommit();
    let unacked = 0;
    let oldest = Infinity;
    for (const range of ranges) {
      const from = Math.max(range.low, committed.get(range.partition) ?? range.low);
      const behind = range.high - from - (acked.get(range.partition) ?? 0);
      if (behind <= 0) continue;
      unacked += behind;
      const [first] = await this.partitionLog.fetch(kafkaTopic, range.partition, from, { maxWaitMs: 0, maxBytes: 64 * 1024 });
      if (first) oldest = Math.min(oldest, first.timestamp);
    }
    return { unacked, oldestUnackedAgeMs: oldest === Infinity ? 0 : Math.max(0, Date.now() - oldest) };
  }

  /** Messages from Kafka's offsets; bytes estimated from the newest record of each partition. */
  async stats(kafkaTopic: string): Promise<TopicStats> {
    let messages = 0;
    let bytes = 0;
    for (const range of await this.partitionLog.ranges(kafkaTopic)) {
      const count = range.high - range.low;
      if (count <= 0) continue;
      messages += count;
      const [last] = await this.partitionLog.fetch(kafkaTopic, range.partition, range.high - 1, { maxWaitMs: 0, maxBytes: 64 * 1024 });
      bytes += count * (last ? (last.value?.length ?? 0) + (last.key?.length ?? 0) : 0);
    }
    return { messages, bytes };
  }

  private async readPartition(kafkaTopic: string, partition: number, from: number, to: number): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    let offset = from;
    while (offset < to) {
      const records = await this.partitionLog.fetch(kafkaTopic, partition, offset, { maxWaitMs: 0 });
      if (records.length === 0) break;
      for (const r of records) if (r.offset < to) out.push(r);
      offset = records[records.length - 1]!.offset + 1;
    }
    return out;
  }
}
