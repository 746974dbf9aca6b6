import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { type Config, schema } from './schema.js';
import { type Field, type SchemaNode, isField } from './field.js';
import { addDemoNamespaces } from './demo.js';
import { isMapping } from './values.js';
import { applyLifecycleRoutes, routingProblems } from './routing.js';

export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface ConfigSources {
  /** Path of a YAML (or JSON) file. */
  file?: string;
  /** Environment; only SWITCHBOARD_* variables are read. */
  env?: Record<string, string | undefined>;
  /** Settings by dotted path, as given on the command line. */
  flags?: Record<string, unknown>;
  /** Settings by dotted path or nested object, applied last (used by tests and embedding). */
  overrides?: Record<string, unknown>;
  /** Told the environment variables skipped as Kubernetes service links, when there are any. */
  onIgnoredEnv?: (names: string[]) => void;
}

interface Leaf {
  path: string;
  field: Field;
}

function leaves(node: SchemaNode, prefix = ''): Leaf[] {
  if (isField(node)) return [{ path: prefix, field: node }];
  return Object.entries(node).flatMap(([key, child]) => leaves(child, prefix ? `${prefix}.${key}` : key));
}

const allLeaves = leaves(schema);
const leafByPath = new Map(allLeaves.map((l) => [l.path, l]));

/** `sessions.heartbeatInterval` -> `SWITCHBOARD_SESSIONS_HEARTBEAT_INTERVAL`. */
export function envName(path: string): string {
  return `SWITCHBOARD_${path
    .replace(/\./g, '_')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()}`;
}

const pathByEnvName = new Map(allLeaves.map((l) => [envName(l.path), l.path]));
/** Environment variables that are not settings but select where settings come from. */
const envControlNames = new Set(['SWITCHBOARD_CONFIG']);
/**
 * The variables Kubernetes injects for a Service named `switchboard` (SWITCHBOARD_PORT=tcp://...,
 * SWITCHBOARD_SERVICE_HOST, SWITCHBOARD_PORT_8080_TCP_ADDR, ...): not settings, and not typos. Their
 * values must have the shapes Kubernetes gives them, so SWITCHBOARD_PORT=80 is still an unknown setting.
 */
function isServiceLink(name: string, value: string): boolean {
  const link = /^(tcp|udp|sctp):\/\/\S+:\d+$/i;
  const rest = name.slice('SWITCHBOARD_'.length);
  if (rest === 'SERVICE_HOST') return true;
  if (/^SERVICE_PORT(_[A-Z0-9_]+)?$/.test(rest)) return /^\d+$/.test(value);
  if (rest === 'PORT' || /^PORT_\d+_(TCP|UDP|SCTP)$/.test(rest)) return link.test(value);
  const part = /^PORT_\d+_(TCP|UDP|SCTP)_(ADDR|PORT|PROTO)$/.exec(rest)?.[2];
  if (part === 'PORT') return /^\d+$/.test(value);
  if (part === 'PROTO') return /^(tcp|udp|sctp)$/i.test(value);
  return part === 'ADDR';
}

/** Flattens a nested object into dotted paths, stopping at schema leaves (whose values may be objects). */
function flatten(value: unknown, where: string, problems: string[], prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (value === null || value === undefined) return out;
  if (!isMapping(value)) {
    problems.push(`${where}: expected a mapping of settings${prefix ? ` at ${prefix}` : ''}`);
    return out;
  }
  for (const [key, child] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (leafByPath.has(path)) {
      out.set(path, child);
    } else if (allLeaves.some((l) => l.path.startsWith(`${path}.`))) {
      for (const [p, v] of flatten(child, where, problems, path)) out.set(p, v);
    } else {
      problems.push(`${where}: unknown setting ${path}`);
    }
  }
  return out;
}

/** Sets a dotted path in a nested object; throws when a value given for a shorter path is in the way. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const [i, part] of parts.slice(0, -1).entries()) {
    node[part] ??= {};
    const next = node[part];
    if (!isMapping(next)) throw new Error(`${parts.slice(0, i + 1).join('.')} is given both a value and settings below it`);
    node = next;
  }
  node[parts[parts.length - 1]!] = value;
}

function readFile(file: string, problems: string[]): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`config file ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return undefined;
  }
  try {
    return parseYaml(text);
  } catch (err) {
    problems.push(`config file ${file}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
    return undefined;
  }
}

/** Builds the one validated Config: defaults < file < environment < flags < overrides. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const problems: string[] = [];
  const given = new Map<string, { value: unknown; where: string }>();
  const apply = (entries: Map<string, unknown>, where: (path: string) => string) => {
    for (const [path, value] of entries) given.set(path, { value, where: where(path) });
  };

  if (sources.file) {
    const where = `config file ${sources.file}`;
    apply(flatten(readFile(sources.file, problems), where, problems), (p) => `${where}: ${p}`);
  }

  const fromEnv = new Map<string, unknown>();
  const serviceLinks: string[] = [];
  for (const [name, value] of Object.entries(sources.env ?? {})) {
    if (!name.startsWith('SWITCHBOARD_') || value === undefined || envControlNames.has(name)) continue;
    const path = pathByEnvName.get(name);
    if (!path && isServiceLink(name, value)) {
      serviceLinks.push(name);
      continue;
    }
    if (!path) {
      problems.push(`environment: unknown setting ${name}`);
      continue;
    }
    const parsed = leafByPath.get(path)?.field.structured ? parseJsonEnv(name, value, problems) : value;
    if (parsed !== undefined) fromEnv.set(path, parsed);
  }
  apply(fromEnv, (p) => `environment ${envName(p)}`);
  if (serviceLinks.length > 0) sources.onIgnoredEnv?.(serviceLinks);

  for (const [label, entries] of [
    ['flag', sources.flags],
    ['override', sources.overrides],
  ] as const) {
    if (!entries) continue;
    const nested: Record<string, unknown> = {};
    for (const [path, value] of Object.entries(entries)) {
      // A setting, a section, or a path below a setting whose value is a mapping (channels.namespaces.chat.presence).
      const below = allLeaves.find((l) => path.startsWith(`${l.path}.`));
      const known = leafByPath.has(path) || allLeaves.some((l) => l.path.startsWith(`${path}.`)) || (below && isMapping(below.field.default));
      if (!known) {
        problems.push(`${label}: unknown setting ${path}`);
        continue;
      }
      // On the command line a structured setting (a map or list) is JSON, as in its environment variable.
      const jsonFlag = label === 'flag' && leafByPath.get(path)?.field.structured && typeof value === 'string' && /^\s*[[{]/.test(value);
      const parsed = jsonFlag ? parseJsonFlag(path, value, problems) : value;
      if (parsed === undefined) continue;
      try {
        setPath(nested, path, parsed);
      } catch (err) {
        problems.push(`${label}: ${(err as Error).message}`);
      }
    }
    apply(flatten(nested, label, problems), (p) => (label === 'flag' ? `flag --${p}` : `override ${p}`));
  }

  // Secure by default: anonymous clients only in the demo, or where auth.anonymous says so.
  const demo = given.get('demo.enabled')?.value;
  if ((demo === true || demo === 'true') && !given.has('auth.anonymous')) given.set('auth.anonymous', { value: true, where: 'flag --demo' });

  const result: Record<string, unknown> = {};
  for (const { path, field } of allLeaves) {
    const entry = given.get(path);
    try {
      setPath(result, path, field.parse(entry ? entry.value : field.default));
    } catch (err) {
      // A list's parser names the element (`[0]: ...`): it reads as the setting's own, auth.jwt.publicKeys[0].
      const message = (err as Error).message;
      problems.push(`${entry ? entry.where : `default ${path}`}${message.startsWith('[') ? '' : ': '}${message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const config = result as unknown as Config;
  checkConsistency(config, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  if (config.node.id === '') config.node.id = randomBytes(6).toString('hex');
  addDemoNamespaces(config);
  return config;
}

function parseJsonEnv(name: string, value: string, problems: string[]): unknown {
  try {
    return JSON.parse(value);
  } catch {
    problems.push(`environment ${name}: expected JSON`);
    return undefined;
  }
}

function parseJsonFlag(path: string, value: string, problems: string[]): unknown {
  try {
    return JSON.parse(value);
  } catch {
    problems.push(`flag --${path}: expected JSON`);
    return undefined;
  }
}

function checkConsistency(config: Config, problems: string[]): void {
  problems.push(...routingProblems(config.routing, config.gateway.enabled));
  applyLifecycleRoutes(config, problems);
  if (config.api.keys.length === 0 && config.api.publishKeys.length === 0 && !config.api.insecure) {
    problems.push('api.keys is empty: set at least one API key, or api.insecure: true to serve the API without one');
  }
  if ((config.server.tls.cert === '') !== (config.server.tls.key === '')) {
    problems.push('server.tls.cert and server.tls.key go together: set both (PEM files) or neither');
  }
  if (config.sessions.lifetime.min > config.sessions.lifetime.max) {
    problems.push('sessions.lifetime.min must not be greater than sessions.lifetime.max');
  }
  if (config.sessions.heartbeatInterval === 0) {
    problems.push('sessions.heartbeatInterval must be greater than 0');
  }
  if (config.limits.clientMessagesBurst < 1) {
    problems.push('limits.clientMessagesBurst must be at least 1');
  }
}

/** A setting whose value is true or false (its flag may be given without a value). */
export function isBooleanSetting(path: string): boolean {
  return typeof leafByPath.get(path)?.field.default === 'boolean';
}

/** Every setting with its environment variable, default and meaning, for docs and `config describe`. */
export function describeSettings(): { path: string; env: string; default: unknown; doc: string }[] {
  return allLeaves.map(({ path, field }) => ({ path, env: envName(path), default: field.default, doc: field.doc }));
}
