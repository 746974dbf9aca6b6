import type { KV } from '@nats-io/kv';
import { unavailableError } from '../protocol/errors.js';
import type { MetadataKind, MetadataStore } from './store.js';

/** Metadata records in a JetStream KV bucket, keyed `<kind>.<id>`. */
export class NatsMetadataStore implements MetadataStore {
  constructor(private readonly kv: () => KV) {}

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw unavailableError('nats', err);
    }
  }

  async get<T>(kind: MetadataKind, id: string): Promise<T | undefined> {
    const entry = await this.run(() => this.kv().get(`${kind}.${id}`));
    return entry && entry.operation === 'PUT' && entry.length > 0 ? entry.json<T>() : undefined;
  }

  async put<T>(kind: MetadataKind, id: string, value: T, opts: { ifAbsent?: boolean } = {}): Promise<boolean> {
    const json = JSON.stringify(value);
    if (!opts.ifAbsent) {
      await this.run(() => this.kv().put(`${kind}.${id}`, json));
      return true;
    }
    try {
      await this.kv().create(`${kind}.${id}`, json);
      return true;
    } catch (err) {
      if (err instanceof Error && /wrong last sequence|exists/i.test(err.message)) return false;
      throw unavailableError('nats', err);
    }
  }

  async delete(kind: MetadataKind, id: string): Promise<boolean> {
    const existed = (await this.get(kind, id)) !== undefined;
    if (existed) await this.run(() => this.kv().delete(`${kind}.${id}`));
    return existed;
  }

  async list<T>(kind: MetadataKind): Promise<T[]> {
    const keys: string[] = [];
    const iter = await this.run(() => this.kv().keys(`${kind}.>`));
    for await (const key of iter) keys.push(key);
    const values = await Promise.all(keys.map((key) => this.get<T>(kind, key.slice(kind.length + 1))));
    return values.filter((v): v is Awaited<T> => v !== undefined) as T[];
  }
}
