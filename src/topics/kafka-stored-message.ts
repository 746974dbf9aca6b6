import type { Logger } from 'pino';
import { SwitchboardError } from '../protocol/errors.js';
import type { TopicMessage } from './store.js';

/** The message body as stored in Kafka; position and publish time come from the record. */
export interface StoredBody {
  id: string;
  /** Rises with every message this process appends: orders records of one millisecond across partitions in a read of the topic. */
  seq: number;
  data: unknown;
  attributes: Record<string, string>;
  orderingKey?: string;
  deliverAt?: number;
}

/** FNV-1a: a stable partition for an ordering key. */
export function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

export function parsePosition(position: string): { partition: number; offset: number } {
  const match = /^(\d{1,9}):(\d{1,15})$/.exec(position);
  if (!match) throw new SwitchboardError('bad_request', `not a position of this store (partition:offset): ${position}`);
  return { partition: Number(match[1]), offset: Number(match[2]) };
}

/** A Kafka record, as far as decoding a stored message needs it. */
export interface StoredRecord {
  offset: string | number;
  timestamp: string | number;
  value: Buffer | null;
}

/** A stored message with the sequence that orders it among the records of its millisecond; undefined (and logged) if the record is not one. */
export function decodeStored(partition: number, record: StoredRecord, log: Logger): { message: TopicMessage; seq: number } | undefined {
  if (!record.value) return undefined;
  try {
    const { seq, ...body } = JSON.parse(record.value.toString('utf8')) as StoredBody;
    return { message: { ...body, position: `${partition}:${record.offset}`, publishTime: Number(record.timestamp) }, seq: seq ?? 0 };
  } catch {
    log.warn({ event: 'topics.kafka.malformed_record', partition, offset: record.offset }, 'skipped a kafka record that is not a stored message');
    return undefined;
  }
}
