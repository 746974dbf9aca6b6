import { LRUCache } from 'lru-cache';
import { SwitchboardError } from '../protocol/errors.js';
import { applicationCacheMs, type Applications } from './applications.js';
import type { TopicMetrics } from './metrics.js';
import { checkName, storeName } from './names.js';
import type { Quotas } from '../config/topics.js';
import type { SeekTarget, TopicMessage, TopicStats, TopicStore } from './store.js';
import type { TopicsConfig } from './service.js';

/** A topic as TopicService keeps it (metadata kind `topic`, id `<application>-<name>`). */
export interface TopicRecord {
  application: string;
  name: string;
  retentionMs: number;
  retentionBytes: number;
  partitions: number;
  /** Applications that may subscribe to this topic besides its owner. */
  grants: string[];
  createdAt: number;
}

export interface TopicOptions {
  retentionMs?: number;
  retentionBytes?: number;
  partitions?: number;
}

/** The topics of every application: records in the store's metadata, logs in the store. */
export class TopicCatalog {
  /** Topic records publish reads, trusted for applicationCacheMs (a deleted topic fails at the store anyway), at most topics.cacheEntries. */
  private readonly cache: LRUCache<string, TopicRecord>;

  constructor(
    private readonly store: TopicStore,
    private readonly config: TopicsConfig,
    private readonly applications: Applications,
    private readonly metrics: TopicMetrics,
    private readonly quotasOf: (app: { quotas: Partial<Quotas> }) => Quotas,
  ) {
    this.cache = new LRUCache({ max: config.cacheEntries, ttl: applicationCacheMs });
  }

  async get(application: string, name: string): Promise<TopicRecord> {
    const topic = await this.store.metadata.get<TopicRecord>('topic', storeName(application, name));
    if (!topic) throw new SwitchboardError('not_found', `no topic ${application}/${name}`);
    return topic;
  }

  /** The topic record for publishing, from the cache when it is there. */
  async cached(application: string, name: string): Promise<TopicRecord> {
    const key = storeName(application, name);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const topic = await this.get(application, name);
    this.cache.set(key, topic);
    return topic;
  }

  /** Topic records cached for publishing now. */
  get cachedEntries(): number {
    return this.cache.size;
  }

  async list(application: string): Promise<TopicRecord[]> {
    return (await this.store.metadata.list<TopicRecord>('topic')).filter((t) => t.application === application).sort((a, b) => a.name.localeCompare(b.name));
  }

  private settings(options: TopicOptions, base?: TopicRecord): Pick<TopicRecord, 'retentionMs' | 'retentionBytes' | 'partitions'> {
    const retentionMs = options.retentionMs ?? base?.retentionMs ?? this.config.retention;
    const retentionBytes = options.retentionBytes ?? base?.retentionBytes ?? this.config.retentionBytes;
    const partitions = options.partitions ?? base?.partitions ?? 1;
    for (const [key, value] of Object.entries({ retentionMs, retentionBytes, partitions })) {
      if (!Number.isSafeInteger(value) || value < (key === 'partitions' ? 1 : 0))
        throw new SwitchboardError('bad_request', `${key} must be a whole number${key === 'partitions' ? ' of at least 1' : ' (0: no limit)'}`);
    }
    if (retentionMs === 0 && retentionBytes === 0) throw new SwitchboardError('bad_request', 'a topic needs a retention time or size (or both)');
    return { retentionMs, retentionBytes, partitions };
  }

  /** Creates a topic; 409 limit_exceeded when it exists or the application is at its topic quota. */
  async create(application: string, name: string, options: TopicOptions = {}): Promise<TopicRecord> {
    checkName('topic', name);
    const app = await this.applications.require(application);
    const settings = this.settings(options);
    const owned = await this.list(application);
    if (owned.some((t) => t.name === name)) throw new SwitchboardError('limit_exceeded', `topic ${application}/${name} exists`);
    const { maxTopics } = this.quotasOf(app);
    if (owned.length >= maxTopics) {
      this.metrics.onQuotaHit(application, 'topics');
      throw new SwitchboardError('limit_exceeded', `application ${application} has its ${maxTopics} topics (quota maxTopics)`);
    }
    const record: TopicRecord = { application, name, ...settings, grants: [], createdAt: Date.now() };
    await this.store.ensureTopic(storeName(application, name), { retentionMs: record.retentionMs, retentionBytes: record.retentionBytes, partitions: record.partitions });
    if (!(await this.store.metadata.put('topic', storeName(application, name), record, { ifAbsent: true }))) {
      throw new SwitchboardError('limit_exceeded', `topic ${application}/${name} exists`);
    }
    return record;
  }

  async update(application: string, name: string, options: TopicOptions): Promise<TopicRecord> {
    const topic = await this.get(application, name);
    const updated = { ...topic, ...this.settings(options, topic) };
    await this.store.ensureTopic(storeName(application, name), { retentionMs: updated.retentionMs, retentionBytes: updated.retentionBytes, partitions: updated.partitions });
    await this.store.metadata.put('topic', storeName(application, name), updated);
    this.cache.delete(storeName(application, name));
    return updated;
  }

  /** Removes the topic's log and record; its subscriptions must be deleted first. */
  async remove(application: string, name: string): Promise<void> {
    await this.store.deleteTopic(storeName(application, name));
    await this.store.metadata.delete('topic', storeName(application, name));
    this.cache.delete(storeName(application, name));
  }

  async grant(application: string, name: string, grantee: string, allow: boolean): Promise<TopicRecord> {
    const topic = await this.get(application, name);
    if (allow) await this.applications.require(grantee);
    topic.grants = allow ? [...new Set([...topic.grants, grantee])] : topic.grants.filter((g) => g !== grantee);
    await this.store.metadata.put('topic', storeName(application, name), topic);
    return topic;
  }

  async stats(application: string, name: string): Promise<TopicStats> {
    await this.get(application, name);
    return this.store.topicStats(storeName(application, name));
  }

  /** Retained messages of a topic in log order (a dead-letter topic's listing, inspection). */
  async read(application: string, name: string, opts: { from?: SeekTarget; limit: number }): Promise<TopicMessage[]> {
    await this.get(application, name);
    return this.store.read(storeName(application, name), opts);
  }
}
