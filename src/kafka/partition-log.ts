import type { Admin, IHeaders, Kafka } from 'kafkajs';

/** One record as read from a partition. */
export interface LogRecord {
  partition: number;
  offset: number;
  /** The record's timestamp (the producer's create time), ms since the epoch. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Map<string, string>;
}

/** The retained range of a partition: records `low` .. `high - 1`. */
export interface PartitionRange {
  partition: number;
  low: number;
  high: number;
}

/** The parts of kafkajs's (untyped) cluster and broker objects this module uses. */
interface FetchedPartition {
  partition: number;
  errorCode: number;
  messages: { offset: string; timestamp: string; key: Buffer | null; value: Buffer | null; headers?: IHeaders }[];
}
interface InternalBroker {
  fetch(request: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: FetchedPartition[] }[] }>;
  offsetCommit(request: {
    groupId: string;
    groupGenerationId: number;
    memberId: string;
    topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }): Promise<{ responses: { partitions: { partition: number; errorCode: number }[] }[] }>;
}
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number }[];
  findBroker(query: { nodeId: string }): Promise<InternalBroker>;
  findGroupCoordinator(query: { groupId: string }): Promise<InternalBroker>;
}

/** Read committed records only; no transactions are used, so this only skips aborted ones. */
const READ_COMMITTED = 1;
const FETCH_MAX_BYTES = 4 * 1024 * 1024;

function headersOf(headers: IHeaders | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) map.set(name, first.toString());
  }
  return map;
}

/** The retained range of every partition of a topic, by partition id. */
export async function partitionRanges(admin: Admin, topic: string): Promise<PartitionRange[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) })).sort((a, b) => a.partition - b.partition);
}

/** Offsets a group has committed on a topic; partitions without a commit are absent. */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const [found] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const map = new Map<number, number>();
  for (const p of found?.partitions ?? []) if (Number(p.offset) >= 0) map.set(p.partition, Number(p.offset));
  return map;
}

/**
 * Direct access to partitions without a consumer group: fetch from any offset, offsets of a
 * group committed without members, binary search by time. kafkajs has no public API for reading
 * a partition outside a group (joining one takes seconds), so this uses the cluster object its
 * own producer and consumer are built on (kafkajs 2.x, whose internals no longer change).
 */
export class PartitionLog {
  private readonly cluster: InternalCluster;
  private readonly admin: Admin;

  constructor(kafka: Kafka) {
    const create = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
    if (!create) throw new Error('this kafkajs version has no cluster factory');
    const factory = (kafka as unknown as Record<symbol, (options: object) => InternalCluster>)[create]!;
    this.cluster = factory({ allowAutoTopicCreation: true, metadataMaxAge: 300_000 });
    this.admin = kafka.admin();
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
    await this.admin.connect();
  }

  async disconnect(): Promise<void> {
    await Promise.allSettled([this.cluster.disconnect(), this.admin.disconnect()]);
  }

  /** The partition ids of a topic; asking creates it where the brokers create topics on first use. */
  async partitions(topic: string): Promise<number[]> {
    let found = this.known(topic);
    if (found.length === 0) {
      await this.cluster.addTargetTopic(topic);
      found = this.known(topic);
    }
    return found.map((p) => p.partitionId).sort((a, b) => a - b);
  }

  /** Partitions in the cached metadata (none before the first metadata request). */
  private known(topic: string): { partitionId: number; leader: number }[] {
    try {
      return this.cluster.findTopicPartitionMetadata(topic);
    } catch {
      return [];
    }
  }

  ranges(topic: string): Promise<PartitionRange[]> {
    return partitionRanges(this.admin, topic);
  }

  /**
   * Records of one partition from `offset` on (at most about `maxBytes`), waiting up to
   * `maxWaitMs` for the first when there are none yet.
   */
  async fetch(topic: string, partition: number, offset: number, opts: { maxWaitMs: number; maxBytes?: number }): Promise<LogRecord[]> {
    await this.partitions(topic);
    const leader = this.known(topic).find((p) => p.partitionId === partition)?.leader;
    if (leader === undefined) throw new Error(`no leader for ${topic} partition ${partition}`);
    const broker = await this.cluster.findBroker({ nodeId: String(leader) });
    const maxBytes = opts.maxBytes ?? FETCH_MAX_BYTES;
    const response = await broker.fetch({
      replicaId: -1,
      isolationLevel: READ_COMMITTED,
      maxWaitTime: opts.maxWaitMs,
      minBytes: 1,
      maxBytes,
      topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes }] }],
    });
    const fetched = response.responses[0]?.partitions.find((p) => p.partition === partition);
    if (!fetched) return [];
    if (fetched.errorCode !== 0) {
      // Leadership moved: the next call asks the new leader.
      await this.cluster.refreshMetadata();
      return [];
    }
    return fetched.messages
      .map((m) => ({ partition, offset: Number(m.offset), timestamp: Number(m.timestamp), key: m.key, value: m.value, headers: headersOf(m.headers) }))
      .filter((r) => r.offset >= offset);
  }

  /** The first offset whose record's timestamp is at or after `time` (the end offset when none is). */
  async offsetForTime(topic: string, range: PartitionRange, time: number): Promise<number> {
    // Binary search over the retained offsets: brokers differ in how they answer ListOffsets by
    // timestamp (librdkafka's mock cluster answers the end), and create times rise within a partition.
    let low = range.low;
    let high = range.high;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      const [record] = await this.fetch(topic, range.partition, middle, { maxWaitMs: 0, maxBytes: 64 * 1024 });
      if (!record) return high;
      if (record.timestamp >= time) high = Math.min(middle, record.offset);
      else low = record.offset + 1;
    }
    return low;
  }

  /** Offsets a group has committed; partitions without a commit are absent. */
  groupOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    return committedOffsets(this.admin, groupId, topic);
  }

  /** Commits offsets for a group as a client outside it (generation -1), as a new group's starting point. */
  async commitAsOutsider(groupId: string, topic: string, offsets: Map<number, number>): Promise<void> {
    const coordinator = await this.cluster.findGroupCoordinator({ groupId });
    const response = await coordinator.offsetCommit({
      groupId,
      groupGenerationId: -1,
      memberId: '',
      topics: [{ topic, partitions: [...offsets].map(([partition, offset]) => ({ partition, offset: String(offset) })) }],
    });
    const failed = response.responses.flatMap((r) => r.partitions).find((p) => p.errorCode !== 0);
    if (failed) throw new Error(`offset commit for group ${groupId} failed with Kafka error ${failed.errorCode}`);
  }

  /** Creates a topic with its settings; false when the cluster refuses the admin request (then it is created on first use). */
  async createTopic(topic: string, partitions: number, replicationFactor: number, configs: Record<string, string>): Promise<boolean> {
    try {
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: partitions, replicationFactor, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
      });
      return true;
    } catch {
      return false;
    }
  }

  /** Deletes a topic; false when the cluster refuses the admin request. */
  async deleteTopic(topic: string): Promise<boolean> {
    try {
      await this.admin.deleteTopics({ topics: [topic], timeout: 5000 });
      return true;
    } catch {
      return false;
    }
  }
}
