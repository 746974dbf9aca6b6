import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { createRedisClient, type RedisClient } from '../backends/redis.js';
import type { Bridge } from './bridge.js';
import type { SourceRecord } from './records.js';
import type { RecordSource } from './source.js';

export interface RedisSourceOptions {
  url: string;
  /** This node's consumer name in the group. */
  consumer: string;
  /** Entries another consumer left pending for this long are claimed and delivered here (the consumer died). */
  claimIdle: number;
  /** A new group starts at the stream's first entry instead of its end. */
  fromBeginning: boolean;
}

type StreamEntry = [id: string, fields: string[]];

/** Longest one blocking read waits, so the claim of abandoned entries runs at least this often. */
const blockMs = 1000;
const readCount = 100;
const errorPause = 1000;

/**
 * A Redis stream read through a consumer group (every node is a consumer of the same group, so
 * each entry goes to one node). An entry is acknowledged (XACK) once delivered; entries a dead
 * consumer left pending are claimed with XAUTOCLAIM after `claimIdle`.
 */
export class RedisRecordSource implements RecordSource {
  /** Carries the blocking reads; closed to interrupt one at stop. */
  private readonly reader: RedisClient;
  private readonly commands: RedisClient;
  private running = false;
  private loop: Promise<void> | undefined;
  private lastClaim = 0;

  constructor(
    private readonly bridge: Bridge,
    private readonly options: RedisSourceOptions,
    private readonly log: Logger,
  ) {
    // Commands wait for the connection to come back rather than fail: the loop would only retry them.
    const client = { offlineQueue: true, reconnect: true, maxRetriesPerRequest: null };
    this.reader = createRedisClient({ url: options.url }, client);
    this.commands = createRedisClient({ url: options.url }, client);
  }

  async start(): Promise<void> {
    await Promise.all([this.reader.connect(), this.commands.connect()]);
    const { stream, group } = this.bridge.definition;
    try {
      await this.commands.xgroup('CREATE', stream, group, this.options.fromBeginning ? '0' : '$', 'MKSTREAM');
    } catch (err) {
      if (!(err as Error).message.startsWith('BUSYGROUP')) throw err;
    }
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.reader.disconnect();
    await this.loop;
    this.commands.disconnect();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (Date.now() - this.lastClaim >= this.options.claimIdle / 2) await this.claimAbandoned();
        const entries = await this.readNew();
        await this.deliverAll(entries);
      } catch (err) {
        if (!this.running) return;
        this.log.warn({ event: 'bridge.read_failed', bridge: this.bridge.name, err: (err as Error).message }, 'reading the Redis stream failed; retrying');
        await sleep(errorPause);
      }
    }
  }

  private async readNew(): Promise<StreamEntry[]> {
    const { stream, group } = this.bridge.definition;
    const answer = (await this.reader.xreadgroup('GROUP', group, this.options.consumer, 'COUNT', readCount, 'BLOCK', blockMs, 'STREAMS', stream, '>')) as
      [string, StreamEntry[]][] | null;
    return answer?.[0]?.[1] ?? [];
  }

  private async claimAbandoned(): Promise<void> {
    const { stream, group } = this.bridge.definition;
    let cursor = '0-0';
    do {
      const [next, entries] = (await this.commands.xautoclaim(stream, group, this.options.consumer, this.options.claimIdle, cursor, 'COUNT', readCount)) as [string, StreamEntry[]];
      // Redis 6.2 lists entries deleted from the stream as nil; they cannot be delivered.
      await this.deliverAll(entries.filter((entry) => Array.isArray(entry) && Array.isArray(entry[1])));
      cursor = next;
    } while (cursor !== '0-0' && this.running);
    this.lastClaim = Date.now();
  }

  private async deliverAll(entries: StreamEntry[]): Promise<void> {
    const { stream, group } = this.bridge.definition;
    for (const [id, fields] of entries) {
      if (!this.running) return;
      await this.bridge.deliver(this.recordOf(fields), `${stream} entry ${id}`, () => this.running);
      await this.commands.xack(stream, group, id);
    }
  }

  private recordOf(fields: string[]): SourceRecord {
    const headers = new Map<string, string>();
    let value: Buffer | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i]!;
      if (name === this.bridge.definition.valueField) value = Buffer.from(fields[i + 1]!, 'utf8');
      else headers.set(name.toLowerCase(), fields[i + 1]!);
    }
    return { value, headers };
  }
}
