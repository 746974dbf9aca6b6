import { unavailableError } from '../protocol/errors.js';
import type { KeyedLog } from '../kafka/keyed-log.js';
import type { MetadataKind, MetadataStore } from './store.js';

/** Applications, topics and subscriptions records in the store's followed metadata log, keyed `<kind>/<id>`. */
export class KafkaMetadataStore implements MetadataStore {
  constructor(private readonly records: KeyedLog<unknown>) {}

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw unavailableError('kafka', err);
    }
  }

  async get<T>(kind: MetadataKind, id: string): Promise<T | undefined> {
    const key = `${kind}/${id}`;
    const known = this.records.get(key);
    if (known) return structuredClone(known.value) as T;
    await this.run(() => this.records.catchUp());
    const found = this.records.get(key);
    return found ? (structuredClone(found.value) as T) : undefined;
  }

  async put<T>(kind: MetadataKind, id: string, value: T, opts: { ifAbsent?: boolean } = {}): Promise<boolean> {
    return this.run(() => this.records.put(`${kind}/${id}`, value, { ifAbsent: opts.ifAbsent ?? false }));
  }

  async delete(kind: MetadataKind, id: string): Promise<boolean> {
    if ((await this.get(kind, id)) === undefined) return false;
    await this.run(() => this.records.put(`${kind}/${id}`, undefined));
    return true;
  }

  async list<T>(kind: MetadataKind): Promise<T[]> {
    await this.run(() => this.records.catchUp());
    return this.records.list(`${kind}/`).map(([, entry]) => structuredClone(entry.value) as T);
  }
}
