import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { SwitchboardError } from '../protocol/errors.js';
import { applicationIdPattern, type ApplicationDefinition, type KeyScope, type Quotas } from '../config/topics.js';
import type { MetadataStore } from './store.js';

/** One key of an application; only its SHA-256 digest is stored. */
export interface ApplicationKey {
  id: string;
  digest: string;
  scopes: KeyScope[];
  createdAt: number;
  revokedAt?: number;
}

export interface Application {
  id: string;
  keys: ApplicationKey[];
  /** Quotas set for this application; the rest come from topics.quotas. */
  quotas: Partial<Quotas>;
  createdAt: number;
  /** `config`: declared in topics.applications (written again at every start); `api`: created through the API. */
  source: 'config' | 'api';
}

/** An application as the API shows it: keys without their digests. */
export function publicApplication(app: Application, defaults: Quotas): Record<string, unknown> {
  return {
    id: app.id,
    source: app.source,
    createdAt: new Date(app.createdAt).toISOString(),
    quotas: { ...defaults, ...app.quotas },
    keys: app.keys.map((k) => ({
      id: k.id,
      scopes: k.scopes,
      createdAt: new Date(k.createdAt).toISOString(),
      ...(k.revokedAt !== undefined && { revokedAt: new Date(k.revokedAt).toISOString() }),
    })),
  };
}

const digestOf = (key: string) => createHash('sha256').update(key).digest('hex');

/** How long a node trusts what it read of an application: a revoked key stops working everywhere within this. */
export const applicationCacheMs = 2000;

/** Who made a request: a server API admin (everything) or an application key with its scopes. */
export type Principal = { kind: 'server' } | { kind: 'application'; application: string; scopes: KeyScope[] };

/**
 * Applications and their keys, kept in the topic store's metadata (shared by every node on Redis and
 * NATS). Keys issued here look like `sbk_<application>_<secret>`, so a key names its application and
 * is checked against that one record; keys from the config may be any string and are found by digest.
 */
export class Applications {
  /**
   * What this node read of applications, for applicationCacheMs, at most maxEntries of them. Misses
   * are kept too (app undefined): a key names any application id it likes, so without them every
   * forged key would read the store, and without the bound every forged id would stay in memory.
   */
  private readonly cache: LRUCache<string, { app: Application | undefined }>;
  /** digest -> application, for config keys (they do not name their application). */
  private readonly configDigests = new Map<string, string>();

  constructor(
    private readonly metadata: MetadataStore,
    options: { maxEntries: number },
  ) {
    this.cache = new LRUCache({ max: options.maxEntries, ttl: applicationCacheMs });
  }

  /** Applications (and unknown ids) cached now. */
  get cachedEntries(): number {
    return this.cache.size;
  }

  /** Writes the config's applications (replacing earlier config versions of them). */
  async seed(definitions: ApplicationDefinition[]): Promise<void> {
    for (const def of definitions) {
      const existing = await this.metadata.get<Application>('application', def.id);
      const keys = def.keys.map((k, i): ApplicationKey => ({ id: `config-${i + 1}`, digest: digestOf(k.key), scopes: k.scopes, createdAt: existing?.createdAt ?? Date.now() }));
      for (const key of keys) this.configDigests.set(key.digest, def.id);
      // Keys added through the API to a config application survive a restart.
      const apiKeys = existing?.keys.filter((k) => !k.id.startsWith('config-')) ?? [];
      await this.metadata.put<Application>('application', def.id, {
        id: def.id,
        keys: [...keys, ...apiKeys],
        quotas: def.quotas,
        createdAt: existing?.createdAt ?? Date.now(),
        source: 'config',
      });
    }
  }

  async get(id: string, fresh = false): Promise<Application | undefined> {
    const cached = fresh ? undefined : this.cache.get(id);
    if (cached) return cached.app;
    const app = await this.metadata.get<Application>('application', id);
    this.cache.set(id, { app });
    return app;
  }

  async require(id: string): Promise<Application> {
    const app = await this.get(id);
    if (!app) throw new SwitchboardError('not_found', `no application ${id}`);
    return app;
  }

  list(): Promise<Application[]> {
    return this.metadata.list<Application>('application');
  }

  /** Creates an application with one admin key; answers the key (shown only now). */
  async create(id: string, quotas: Partial<Quotas>): Promise<{ app: Application; key: string }> {
    if (!applicationIdPattern.test(id) || id === 'applications')
      throw new SwitchboardError('bad_request', `an application id matches ${applicationIdPattern.source} and is not "applications"`);
    const { key, record } = this.newKey(id, ['admin', 'publish', 'subscribe']);
    const app: Application = { id, keys: [record], quotas, createdAt: Date.now(), source: 'api' };
    if (!(await this.metadata.put('application', id, app, { ifAbsent: true }))) throw new SwitchboardError('limit_exceeded', `application ${id} exists`);
    this.cache.delete(id);
    return { app, key };
  }

  async update(id: string, change: (app: Application) => void): Promise<Application> {
    const app = await this.get(id, true);
    if (!app) throw new SwitchboardError('not_found', `no application ${id}`);
    change(app);
    await this.metadata.put('application', id, app);
    this.cache.set(id, { app });
    return app;
  }

  async remove(id: string): Promise<void> {
    if (!(await this.metadata.delete('application', id))) throw new SwitchboardError('not_found', `no application ${id}`);
    this.cache.delete(id);
  }

  /** Adds a key (rotation: add the new one, move clients over, revoke the old one). */
  async addKey(id: string, scopes: KeyScope[]): Promise<{ key: string; record: ApplicationKey }> {
    const issued = this.newKey(id, scopes);
    await this.update(id, (app) => app.keys.push(issued.record));
    return issued;
  }

  async revokeKey(id: string, keyId: string): Promise<void> {
    await this.update(id, (app) => {
      const key = app.keys.find((k) => k.id === keyId);
      if (!key) throw new SwitchboardError('not_found', `application ${id} has no key ${keyId}`);
      key.revokedAt ??= Date.now();
    });
  }

  private newKey(app: string, scopes: KeyScope[]): { key: string; record: ApplicationKey } {
    const key = `sbk_${app}_${randomBytes(24).toString('base64url')}`;
    return { key, record: { id: randomUUID().slice(0, 8), digest: digestOf(key), scopes, createdAt: Date.now() } };
  }

  /** The application and scopes of a key, or undefined when it is unknown or revoked. */
  async authenticate(key: string): Promise<Principal | undefined> {
    const digest = digestOf(key);
    const named = /^sbk_([A-Za-z0-9_]+)_[A-Za-z0-9_-]{32}$/.exec(key)?.[1];
    const appId = named ?? this.configDigests.get(digest);
    if (!appId) return undefined;
    const given = Buffer.from(digest, 'hex');
    const find = (app: Application | undefined) => app?.keys.find((k) => timingSafeEqual(Buffer.from(k.digest, 'hex'), given));
    let app = await this.get(appId);
    // A key issued through another node since this one read the application: read it again (not
    // for an application that did not exist a moment ago: forged ids would read the store twice).
    if (app && !find(app)) app = await this.get(appId, true);
    const match = find(app);
    if (!app || !match || match.revokedAt !== undefined) return undefined;
    return { kind: 'application', application: app.id, scopes: match.scopes };
  }
}
