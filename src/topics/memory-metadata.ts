import type { MetadataKind, MetadataStore } from './store.js';

/** Metadata records in this process's memory (the memory topic store's). */
export class MemoryMetadataStore implements MetadataStore {
  private readonly records = new Map<string, unknown>();

  async get<T>(kind: MetadataKind, id: string): Promise<T | undefined> {
    const value = this.records.get(`${kind}:${id}`);
    return value === undefined ? undefined : (structuredClone(value) as T);
  }

  async put<T>(kind: MetadataKind, id: string, value: T, opts: { ifAbsent?: boolean } = {}): Promise<boolean> {
    const key = `${kind}:${id}`;
    if (opts.ifAbsent && this.records.has(key)) return false;
    this.records.set(key, structuredClone(value));
    return true;
  }

  async delete(kind: MetadataKind, id: string): Promise<boolean> {
    return this.records.delete(`${kind}:${id}`);
  }

  async list<T>(kind: MetadataKind): Promise<T[]> {
    const prefix = `${kind}:`;
    return [...this.records].filter(([key]) => key.startsWith(prefix)).map(([, value]) => structuredClone(value) as T);
  }
}
