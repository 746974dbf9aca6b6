import { isMapping, parseBytes, parseInteger, rejectUnknownKeys } from './values.js';

export const keyScopes = ['publish', 'subscribe', 'admin'] as const;
export type KeyScope = (typeof keyScopes)[number];

/** What one application may use; over a rate it gets 429 rate_limited, over a count 409 limit_exceeded. */
export interface Quotas {
  /** Messages it may publish per second (over all its topics, per node). */
  messagesPerSecond: number;
  /** Bytes of message data it may publish per second (per node). */
  bytesPerSecond: number;
  /** Largest message (data and attributes, JSON-encoded). */
  maxMessageBytes: number;
  maxTopics: number;
  maxSubscriptions: number;
}

/** An application declared in the config (others are created through the API). */
export interface ApplicationDefinition {
  id: string;
  keys: { key: string; scopes: KeyScope[] }[];
  quotas: Partial<Quotas>;
}

/** Application ids: no `-`, which separates the application from the topic in store names. */
export const applicationIdPattern = /^[A-Za-z0-9_]{1,64}$/;
/** Topic and subscription names. */
export const resourceNamePattern = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$/;

const quotaParsers: Record<keyof Quotas, (v: unknown) => number> = {
  messagesPerSecond: (v) => parseInteger(v, 1, 100_000_000),
  bytesPerSecond: parseBytes,
  maxMessageBytes: parseBytes,
  maxTopics: (v) => parseInteger(v, 0, 1_000_000),
  maxSubscriptions: (v) => parseInteger(v, 0, 1_000_000),
};

/** Validates partial quotas (from config or an API body); throws Error naming the bad field. */
export function parseQuotas(value: unknown, where: string): Partial<Quotas> {
  if (value === undefined) return {};
  if (!isMapping(value)) throw new Error(`${where}: quotas must be an object`);
  const out: Partial<Quotas> = {};
  for (const [key, raw] of Object.entries(value)) {
    const parse = Object.hasOwn(quotaParsers, key) ? quotaParsers[key as keyof Quotas] : undefined;
    if (!parse) throw new Error(`${where}: unknown quota ${key} (known: ${Object.keys(quotaParsers).join(', ')})`);
    out[key as keyof Quotas] = parse(raw);
  }
  return out;
}

/** topics.applications: [{id, keys: [{key, scopes}], quotas}]. */
export function parseApplicationDefinitions(value: unknown): ApplicationDefinition[] {
  const list = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  if (!Array.isArray(list)) throw new Error('topics.applications must be a list of {id, keys, quotas}');
  const seen = new Set<string>();
  return list.map((item, i) => {
    const where = `topics.applications[${i}]`;
    if (!isMapping(item)) throw new Error(`${where} must be an object`);
    rejectUnknownKeys(item, ['id', 'keys', 'quotas'], where);
    const { id, keys, quotas } = item;
    if (typeof id !== 'string' || !applicationIdPattern.test(id)) throw new Error(`${where}.id must match ${applicationIdPattern.source}`);
    if (seen.has(id)) throw new Error(`${where}.id ${id} appears twice`);
    seen.add(id);
    if (!Array.isArray(keys)) throw new Error(`${where}.keys must be a list of {key, scopes}`);
    return {
      id,
      keys: keys.map((k, j) => {
        const entry = isMapping(k) ? k : {};
        rejectUnknownKeys(entry, ['key', 'scopes'], `${where}.keys[${j}]`);
        const { key, scopes } = entry;
        if (typeof key !== 'string' || key.length < 16) throw new Error(`${where}.keys[${j}].key must be a string of at least 16 characters`);
        if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => keyScopes.includes(s as KeyScope))) {
          throw new Error(`${where}.keys[${j}].scopes must list some of ${keyScopes.join(', ')}`);
        }
        return { key, scopes: scopes as KeyScope[] };
      }),
      quotas: parseQuotas(quotas, where),
    };
  });
}
