import { isMapping, parseEnum, parseString, rejectUnknownKeys, show } from './values.js';

/** Where a bridge reads records: a Kafka topic, a core NATS subject, a JetStream stream or a Redis stream. */
export const bridgeSources = ['kafka', 'nats', 'jetstream', 'redis'] as const;
export type BridgeSource = (typeof bridgeSources)[number];

/**
 * Where a record goes: a channel (every subscriber on every node) or a user (every session of
 * that user on every node), named by a fixed value, a field of the JSON record (dotted path) or a
 * header (a Kafka or NATS header, a field of a Redis stream entry).
 */
export interface BridgeTarget {
  type: 'channel' | 'user';
  value?: string;
  field?: string;
  header?: string;
  /** Prepended to a name taken from a field or header, e.g. `chat:`. */
  prefix: string;
}

export interface BridgeDefinition {
  /** Names the bridge in logs and metrics; also the default consumer group. */
  name: string;
  source: BridgeSource;
  /** Kafka topic (kafka). */
  topic: string;
  /** Subject subscribed to (nats), or the filter subject of the consumer (jetstream, optional). */
  subject: string;
  /** JetStream stream or Redis stream key. */
  stream: string;
  /** Kafka consumer group, NATS queue group, JetStream durable consumer or Redis consumer group: every node of a cluster joins it, so each record is delivered once. */
  group: string;
  /** The field of a Redis stream entry that holds the record (the other fields are its headers). */
  valueField: string;
  target: BridgeTarget;
  /** `event`: clients receive the whole record (a CloudEvent in structured form); `data`: only a CloudEvent's data. */
  payload: 'event' | 'data';
}

const namePattern = /^[A-Za-z0-9_.-]{1,64}$/;
const definitionKeys = ['name', 'source', 'topic', 'subject', 'stream', 'group', 'valueField', 'target', 'payload'];
const targetKeys = ['type', 'value', 'field', 'header', 'prefix'];

function optionalString(raw: Record<string, unknown>, key: string): string | undefined {
  if (raw[key] === undefined) return undefined;
  const value = parseString(raw[key]);
  if (value === '') throw new Error(`${key} must not be empty`);
  return value;
}

function parseTarget(value: unknown): BridgeTarget {
  if (!isMapping(value)) throw new Error(`target: expected {type, value | field | header, prefix?}, got ${show(value)}`);
  rejectUnknownKeys(value, targetKeys, 'target');
  const type = parseEnum(value.type, ['channel', 'user'] as const);
  const target: BridgeTarget = {
    type,
    value: optionalString(value, 'value'),
    field: optionalString(value, 'field'),
    header: optionalString(value, 'header'),
    prefix: value.prefix === undefined ? '' : parseString(value.prefix),
  };
  const given = [target.value, target.field, target.header].filter((v) => v !== undefined).length;
  if (given !== 1) throw new Error('target: give exactly one of value (a fixed name), field (a dotted path in the record) or header');
  if (target.value !== undefined && target.prefix !== '') throw new Error('target: prefix applies to a name from a field or header, not to a fixed value');
  return target;
}

function parseDefinition(raw: unknown): BridgeDefinition {
  if (!isMapping(raw)) throw new Error(`expected an object, got ${show(raw)}`);
  rejectUnknownKeys(raw, definitionKeys);
  const name = parseString(raw.name);
  if (!namePattern.test(name)) throw new Error(`name ${JSON.stringify(name)} must match ${namePattern.source}`);
  const source = parseEnum(raw.source, bridgeSources);
  const definition: BridgeDefinition = {
    name,
    source,
    topic: optionalString(raw, 'topic') ?? '',
    subject: optionalString(raw, 'subject') ?? '',
    stream: optionalString(raw, 'stream') ?? '',
    group: optionalString(raw, 'group') ?? `switchboard-bridge-${name}`,
    valueField: optionalString(raw, 'valueField') ?? 'data',
    target: parseTarget(raw.target),
    payload: raw.payload === undefined ? 'event' : parseEnum(raw.payload, ['event', 'data'] as const),
  };
  const needs: Record<BridgeSource, ('topic' | 'subject' | 'stream')[]> = { kafka: ['topic'], nats: ['subject'], jetstream: ['stream'], redis: ['stream'] };
  const allowed: Record<BridgeSource, string[]> = { kafka: ['topic'], nats: ['subject'], jetstream: ['stream', 'subject'], redis: ['stream', 'valueField'] };
  for (const key of needs[source]) if (definition[key] === '') throw new Error(`a ${source} bridge needs ${key}`);
  for (const key of ['topic', 'subject', 'stream', 'valueField'] as const) {
    if (raw[key] !== undefined && !allowed[source].includes(key)) throw new Error(`${key} does not apply to a ${source} bridge`);
  }
  return definition;
}

/** The `bridges.definitions` setting: a list of bridge definitions. */
export function parseBridgeDefinitions(value: unknown): BridgeDefinition[] {
  if (!Array.isArray(value)) throw new Error(`expected a list of bridge definitions, got ${show(value)}`);
  const names = new Set<string>();
  return value.map((raw, i) => {
    let definition: BridgeDefinition;
    try {
      definition = parseDefinition(raw);
    } catch (err) {
      throw new Error(`bridge ${i + 1}: ${(err as Error).message}`);
    }
    if (names.has(definition.name)) throw new Error(`bridge ${i + 1}: the name ${JSON.stringify(definition.name)} is used twice`);
    names.add(definition.name);
    return definition;
  });
}
