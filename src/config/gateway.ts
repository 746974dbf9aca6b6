import { isMapping, parseBoolean, parseDuration, parseEnum, parseInteger, parseString, parseStringList, rejectUnknownKeys, show } from './values.js';

/** How a route spreads requests over a service's instances. */
export const balanceKinds = ['round_robin', 'least_request', 'hash'] as const;
export type BalanceKind = (typeof balanceKinds)[number];

/** What a route carries: any HTTP traffic, or a GraphQL service (queries over HTTP, subscriptions over graphql-transport-ws). */
export const routeKinds = ['http', 'graphql'] as const;
export type RouteKind = (typeof routeKinds)[number];

export const routeAuthKinds = ['none', 'api_key', 'jwt'] as const;
export type RouteAuthKind = (typeof routeAuthKinds)[number];

export const checkTypes = ['none', 'http', 'tcp', 'grpc'] as const;
export type CheckType = (typeof checkTypes)[number];

/** Where a hashing route reads its key: a request header or a cookie. */
export interface HashSource {
  from: 'header' | 'cookie';
  name: string;
}

/** Which requests share one rate limit budget: all of the route's, one per client address, or one per header value. */
export interface RouteRateLimit {
  requests: number;
  window: number;
  by: { kind: 'route' | 'ip' } | { kind: 'header'; name: string };
}

export interface GatewayRoute {
  name: string;
  kind: RouteKind;
  service: string;
  /** Exact host, or `*.example.com` for any subdomain; empty: any host. */
  host: string;
  /** Path prefix the route matches (segment-wise: `/orders` matches `/orders` and `/orders/1`, not `/ordersx`). */
  path: string;
  /** A regular expression the whole path must match instead of a prefix; empty: prefix matching. */
  pathRegex: RegExp | undefined;
  /** Methods the route matches, upper case; empty: all. */
  methods: string[];
  /** Headers that must be present with this value (`*`: any value), lower-case names. */
  headers: [string, string][];
  stripPrefix: boolean;
  /** Replaces the matched prefix (or, with pathRegex, the whole path; `$1` refers to groups); empty: no rewrite. */
  rewrite: string;
  preserveHost: boolean;
  balance: BalanceKind;
  hashOn: HashSource | undefined;
  /** Time to the upstream's response headers, in ms. */
  timeout: number;
  /** Longest pause between two chunks of the upstream's response body, in ms; 0: none. */
  idleTimeout: number;
  /** Further instances an idempotent request is tried on after a connect error. */
  retries: number;
  auth: RouteAuthKind;
  /** Keys accepted on `auth: api_key` routes; empty: the node's api.keys. */
  apiKeys: string[];
  /** Token claims passed to the service as headers, claim name to header name. */
  claimHeaders: [string, string][];
  rateLimit: RouteRateLimit | undefined;
}

export interface HealthCheckConfig {
  type: CheckType;
  /** Path of an http check. */
  path: string;
  /** ms; 0: gateway.health.interval. */
  interval: number;
  /** ms; 0: gateway.health.timeout. */
  timeout: number;
}

export interface StaticInstance {
  id: string;
  url: string;
  weight: number;
  metadata: Record<string, string>;
}

export interface StaticService {
  instances: StaticInstance[];
  check: HealthCheckConfig;
}

export const serviceNamePattern = /^[A-Za-z0-9_.-]{1,64}$/;
export const instanceIdPattern = /^[A-Za-z0-9_.:@-]{1,128}$/;
const headerNamePattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const methodPattern = /^[A-Z]{1,16}$/;

/** Reads the known keys of a mapping, complaining about unknown ones. */
function fields(value: unknown, where: string, known: string[]): Record<string, unknown> {
  if (!isMapping(value)) throw new Error(`${where}: expected a mapping, got ${show(value)}`);
  rejectUnknownKeys(value, known, where);
  return value;
}

function at<T>(where: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const message = (err as Error).message;
    throw new Error(message.startsWith(where) ? message : `${where}: ${message}`);
  }
}

function headerName(value: unknown): string {
  const name = parseString(value);
  if (!headerNamePattern.test(name)) throw new Error(`${show(value)} is not a header name`);
  return name.toLowerCase();
}

function stringMap(value: unknown, parseKey: (key: string) => string, parseValue: (value: unknown) => string): [string, string][] {
  if (!isMapping(value)) throw new Error(`expected a mapping, got ${show(value)}`);
  return Object.entries(value).map(([k, v]) => [parseKey(k), parseValue(v)]);
}

/** `header:NAME` or `cookie:NAME`. */
function parseHashSource(value: unknown): HashSource {
  const text = parseString(value);
  const m = /^(header|cookie):(.+)$/.exec(text);
  if (!m) throw new Error(`expected header:NAME or cookie:NAME, got ${show(value)}`);
  return m[1] === 'header' ? { from: 'header', name: headerName(m[2]) } : { from: 'cookie', name: m[2]! };
}

function parseRateLimit(value: unknown): RouteRateLimit {
  const raw = fields(value, 'rateLimit', ['requests', 'window', 'by']);
  const requests = at('rateLimit.requests', () => parseInteger(raw.requests, 1, 1_000_000_000));
  const window = at('rateLimit.window', () => parseDuration(raw.window ?? '1s'));
  if (window < 1) throw new Error('rateLimit.window: must be at least 1ms');
  const by = at('rateLimit.by', () => {
    const text = parseString(raw.by ?? 'route');
    if (text === 'route' || text === 'ip') return { kind: text } as RouteRateLimit['by'];
    const m = /^header:(.+)$/.exec(text);
    if (!m) throw new Error(`expected route, ip or header:NAME, got ${show(raw.by)}`);
    return { kind: 'header' as const, name: headerName(m[1]) };
  });
  return { requests, window, by };
}

const routeKeys = [
  'name',
  'kind',
  'service',
  'host',
  'path',
  'pathRegex',
  'methods',
  'headers',
  'stripPrefix',
  'rewrite',
  'preserveHost',
  'balance',
  'hashOn',
  'timeout',
  'idleTimeout',
  'retries',
  'auth',
  'apiKeys',
  'claimHeaders',
  'rateLimit',
];

function parseRoute(value: unknown, index: number): GatewayRoute {
  const where = `route ${index + 1}`;
  const raw = fields(value, where, routeKeys);
  const name = at(`${where}.name`, () => parseString(raw.name));
  if (!serviceNamePattern.test(name)) throw new Error(`${where}.name: ${show(raw.name)} must match ${serviceNamePattern.source}`);
  const named = `route ${name}`;
  const service = at(`${named}.service`, () => parseString(raw.service));
  if (!serviceNamePattern.test(service)) throw new Error(`${named}.service: ${show(raw.service)} must match ${serviceNamePattern.source}`);
  const path = at(`${named}.path`, () => parseString(raw.path ?? '/'));
  if (!path.startsWith('/')) throw new Error(`${named}.path: must start with /`);
  const pathRegex = raw.pathRegex === undefined ? undefined : at(`${named}.pathRegex`, () => new RegExp(parseString(raw.pathRegex)));
  const balance = at(`${named}.balance`, () => parseEnum(raw.balance ?? 'round_robin', balanceKinds));
  const hashOn = raw.hashOn === undefined ? undefined : at(`${named}.hashOn`, () => parseHashSource(raw.hashOn));
  if (balance === 'hash' && !hashOn) throw new Error(`${named}: balance hash needs hashOn (header:NAME or cookie:NAME)`);
  const route: GatewayRoute = {
    name,
    kind: at(`${named}.kind`, () => parseEnum(raw.kind ?? 'http', routeKinds)),
    service,
    host: at(`${named}.host`, () => parseString(raw.host ?? '').toLowerCase()),
    path: path.length > 1 ? path.replace(/\/+$/, '') : path,
    pathRegex,
    methods: at(`${named}.methods`, () =>
      parseStringList(raw.methods ?? []).map((m) => {
        const method = m.toUpperCase();
        if (!methodPattern.test(method)) throw new Error(`${show(m)} is not an HTTP method`);
        return method;
      }),
    ),
    headers: at(`${named}.headers`, () => stringMap(raw.headers ?? {}, headerName, parseString)),
    stripPrefix: at(`${named}.stripPrefix`, () => parseBoolean(raw.stripPrefix ?? false)),
    rewrite: at(`${named}.rewrite`, () => parseString(raw.rewrite ?? '')),
    preserveHost: at(`${named}.preserveHost`, () => parseBoolean(raw.preserveHost ?? false)),
    balance,
    hashOn,
    timeout: at(`${named}.timeout`, () => parseDuration(raw.timeout ?? '30s')),
    idleTimeout: at(`${named}.idleTimeout`, () => parseDuration(raw.idleTimeout ?? '5m')),
    retries: at(`${named}.retries`, () => parseInteger(raw.retries ?? 1, 0, 10)),
    auth: at(`${named}.auth`, () => parseEnum(raw.auth ?? 'none', routeAuthKinds)),
    apiKeys: at(`${named}.apiKeys`, () => parseStringList(raw.apiKeys ?? [])),
    claimHeaders: at(`${named}.claimHeaders`, () => stringMap(raw.claimHeaders ?? {}, (k) => k, headerName)),
    rateLimit: raw.rateLimit === undefined ? undefined : at(named, () => parseRateLimit(raw.rateLimit)),
  };
  if (route.timeout < 1) throw new Error(`${named}.timeout: must be at least 1ms`);
  if (route.stripPrefix && route.rewrite !== '') throw new Error(`${named}: stripPrefix and rewrite exclude each other`);
  return route;
}

/** `gateway.routes`: a list of proxy routes, tried in order; the first that matches a request takes it. */
export function parseRoutes(value: unknown): GatewayRoute[] {
  if (!Array.isArray(value)) throw new Error(`expected a list of routes, got ${show(value)}`);
  const routes = value.map(parseRoute);
  const names = new Set<string>();
  for (const route of routes) {
    if (names.has(route.name)) throw new Error(`route ${route.name}: the name is used twice`);
    names.add(route.name);
  }
  return routes;
}

/** A health check as registrations and static services give it. */
export function parseHealthCheck(value: unknown, where: string): HealthCheckConfig {
  if (value === undefined) return { type: 'none', path: '/', interval: 0, timeout: 0 };
  const raw = fields(value, where, ['type', 'path', 'interval', 'timeout']);
  const type = at(`${where}.type`, () => parseEnum(raw.type, checkTypes));
  const path = at(`${where}.path`, () => parseString(raw.path ?? '/'));
  if (!path.startsWith('/')) throw new Error(`${where}.path: must start with /`);
  return {
    type,
    path,
    interval: at(`${where}.interval`, () => parseDuration(raw.interval ?? 0)),
    timeout: at(`${where}.timeout`, () => parseDuration(raw.timeout ?? 0)),
  };
}

/** An instance URL: http(s):// for HTTP services, grpc(s):// for services implementing ForwardingService. */
export function parseInstanceUrl(value: unknown): { url: string; protocol: 'http' | 'grpc' } {
  if (typeof value !== 'string') throw new Error(`url: expected a string, got ${show(value)}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`url: ${show(value)} is not a URL`);
  }
  const protocol = url.protocol === 'http:' || url.protocol === 'https:' ? 'http' : url.protocol === 'grpc:' || url.protocol === 'grpcs:' ? 'grpc' : undefined;
  if (!protocol) throw new Error(`url: ${show(value)} must start with http://, https://, grpc:// or grpcs://`);
  if (url.hostname === '') throw new Error(`url: ${show(value)} has no host`);
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') throw new Error(`url: ${show(value)} may not carry a query, fragment or credentials`);
  if (protocol === 'grpc' && url.pathname !== '/' && url.pathname !== '') throw new Error(`url: ${show(value)}: a gRPC address has no path`);
  return { url: url.href.replace(/\/$/, ''), protocol };
}

export function parseWeight(value: unknown): number {
  return parseInteger(value ?? 1, 1, 1000);
}

export function parseMetadata(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!isMapping(value)) throw new Error(`metadata: expected a mapping of strings, got ${show(value)}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new Error(`metadata.${k}: expected a string, got ${show(v)}`);
    out[k] = v;
  }
  return out;
}

/** An instance id derived from its URL, so registering the same instance twice names the same entry. */
export function idFromUrl(url: string): string {
  return new URL(url).host.replace(/[^A-Za-z0-9_.:@-]/g, '_');
}

/** `gateway.services`: services whose instances come from the configuration rather than registrations. */
export function parseStaticServices(value: unknown): Record<string, StaticService> {
  if (!isMapping(value)) throw new Error(`expected a map of service name to service, got ${show(value)}`);
  const out: Record<string, StaticService> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (!serviceNamePattern.test(name)) throw new Error(`service ${JSON.stringify(name)}: the name must match ${serviceNamePattern.source}`);
    const where = `service ${name}`;
    const service = fields(raw, where, ['instances', 'check']);
    if (!Array.isArray(service.instances) || service.instances.length === 0) throw new Error(`${where}.instances: expected a list of instances`);
    const instances = service.instances.map((item, i) => {
      const at_ = `${where}.instances[${i}]`;
      const instance = typeof item === 'string' ? { url: item } : fields(item, at_, ['id', 'url', 'weight', 'metadata']);
      const { url } = at(at_, () => parseInstanceUrl(instance.url));
      const id = instance.id === undefined ? idFromUrl(url) : at(`${at_}.id`, () => parseString(instance.id));
      if (!instanceIdPattern.test(id)) throw new Error(`${at_}.id: ${show(id)} must match ${instanceIdPattern.source}`);
      return { id, url, weight: at(`${at_}.weight`, () => parseWeight(instance.weight)), metadata: at(at_, () => parseMetadata(instance.metadata)) };
    });
    out[name] = { instances, check: parseHealthCheck(service.check, `${where}.check`) };
  }
  return out;
}
