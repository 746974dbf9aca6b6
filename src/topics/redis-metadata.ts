import type { RedisClient } from '../backends/redis.js';
import { unavailableError } from '../protocol/errors.js';
import type { MetadataKind, MetadataStore } from './store.js';

/** Metadata records in one Redis hash per kind (id -> JSON). */
export class RedisMetadataStore implements MetadataStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw unavailableError('redis', err);
    }
  }

  async get<T>(kind: MetadataKind, id: string): Promise<T | undefined> {
    const raw = await this.run(() => this.redis.hget(this.prefix + kind, id));
    return raw === null ? undefined : (JSON.parse(raw) as T);
  }

  async put<T>(kind: MetadataKind, id: string, value: T, opts: { ifAbsent?: boolean } = {}): Promise<boolean> {
    const json = JSON.stringify(value);
    if (opts.ifAbsent) return (await this.run(() => this.redis.hsetnx(this.prefix + kind, id, json))) === 1;
    await this.run(() => this.redis.hset(this.prefix + kind, id, json));
    return true;
  }

  async delete(kind: MetadataKind, id: string): Promise<boolean> {
    return (await this.run(() => this.redis.hdel(this.prefix + kind, id))) === 1;
  }

  async list<T>(kind: MetadataKind): Promise<T[]> {
    return Object.values(await this.run(() => this.redis.hgetall(this.prefix + kind))).map((raw) => JSON.parse(raw) as T);
  }
}
