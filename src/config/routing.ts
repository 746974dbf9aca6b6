import { isMapping, parseBoolean, parseBytes, parseDuration, parseInteger, parseString, rejectUnknownKeys } from './values.js';

/** When a backend's circuit breaker opens, and for how long. */
export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failures: number;
  /** How long it stays open before one probe call is let through. */
  openFor: number;
}

/** The routing section: how client messages reach backends (docs/routing.md). */
export interface RoutingOptions {
  selectionExpression: string;
  backends: Record<string, BackendOptions>;
  routes: RouteOptions[];
  timeout: number;
  rulesTimeout: number;
  maxResponseBytes: number;
  breaker: BreakerOptions;
}

/**
 * One backend a route may call, receiving client messages as POSTed JSON envelopes: an HTTP
 * endpoint (`url`), or a service of the gateway (`service`, at `path`), whose healthy HTTP or gRPC
 * instances take turns.
 */
export interface BackendOptions {
  url?: string;
  service?: string;
  /** The request path on a gateway service's instances. */
  path: string;
  /** Whole-call timeout in ms; 0: routing.timeout. */
  timeout: number;
  /** Largest answer body read; 0: routing.maxResponseBytes. */
  maxResponseBytes: number;
  /** Keep-alive connections to the backend. */
  connections: number;
  /** Extra request headers (for example a shared secret the backend checks). */
  headers: Record<string, string>;
}

/** How a route recognises its messages: exactly one of key, regex and rules is set. */
export interface RouteOptions {
  name: string;
  /** Equals the route selection expression's value (send) or the method (rpc); `$default` matches every message. */
  key?: string;
  /** Tested against the raw message: the data when it is a string, its JSON text otherwise. */
  regex?: RegExp;
  /** A rules service URL asked which backend or channel takes the message. */
  rules?: string;
  backend?: string;
  channel?: string;
  /** Store the message before acknowledging it, then deliver it at least once with retries. */
  durable: boolean;
  /** Durable delivery attempts before the message goes to the route's dead letters; 0: routing.retry.maxAttempts. */
  maxAttempts: number;
}

const backendNamePattern = /^[A-Za-z0-9_.-]{1,64}$/;
const routeNamePattern = /^[A-Za-z0-9_.$-]{1,64}$/;

function parseUrl(where: string, value: unknown): string {
  const text = parseString(value);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${where}: ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${where}: only http and https URLs are supported`);
  return text;
}

function parseHeaders(where: string, value: unknown): Record<string, string> {
  if (!isMapping(value)) throw new Error(`${where}: expected a map of header name to value`);
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!/^[A-Za-z0-9-]{1,128}$/.test(name) || typeof v !== 'string' || !/^[\t\x20-\x7e]*$/.test(v)) {
      throw new Error(`${where}: header ${JSON.stringify(name)} needs a name of letters, digits and dashes and a printable ASCII string value`);
    }
    headers[name.toLowerCase()] = v;
  }
  return headers;
}

/** routing.backends: a map of backend name to its URL and options (a bare URL string is accepted too). */
export function parseBackends(value: unknown): Record<string, BackendOptions> {
  if (!isMapping(value)) throw new Error('expected a map of backend name to options');
  const result: Record<string, BackendOptions> = {};
  for (const [name, raw] of Object.entries(value)) {
    const where = `backend ${name}`;
    if (!backendNamePattern.test(name)) throw new Error(`${where}: name must match ${backendNamePattern.source}`);
    const options = typeof raw === 'string' ? { url: raw } : raw;
    if (!isMapping(options)) throw new Error(`${where}: expected a URL or an object of options`);
    rejectUnknownKeys(options, ['url', 'service', 'path', 'timeout', 'maxResponseBytes', 'connections', 'headers'], where);
    if ((options.url === undefined) === (options.service === undefined)) throw new Error(`${where}: give exactly one of url and service`);
    const path = options.path === undefined ? '/' : parseString(options.path);
    if (!path.startsWith('/')) throw new Error(`${where}.path: must start with /`);
    result[name] = {
      ...(options.url !== undefined ? { url: parseUrl(`${where}.url`, options.url) } : { service: parseString(options.service) }),
      path,
      timeout: options.timeout === undefined ? 0 : parseDuration(options.timeout),
      maxResponseBytes: options.maxResponseBytes === undefined ? 0 : parseBytes(options.maxResponseBytes),
      connections: options.connections === undefined ? 64 : parseInteger(options.connections, 1, 10_000),
      headers: options.headers === undefined ? {} : parseHeaders(`${where}.headers`, options.headers),
    };
  }
  return result;
}

/** routing.routes: the ordered list of routes; the first that matches a message takes it. */
export function parseRoutes(value: unknown): RouteOptions[] {
  if (!Array.isArray(value)) throw new Error('expected a list of routes');
  const names = new Set<string>();
  return value.map((raw, i) => {
    if (!isMapping(raw)) throw new Error(`route ${i}: expected an object`);
    const name = raw.name === undefined ? `route${i}` : parseString(raw.name);
    const where = `route ${name}`;
    if (!routeNamePattern.test(name)) throw new Error(`${where}: name must match ${routeNamePattern.source}`);
    if (names.has(name)) throw new Error(`${where}: two routes have this name`);
    names.add(name);
    rejectUnknownKeys(raw, ['name', 'key', 'regex', 'rules', 'backend', 'channel', 'durable', 'maxAttempts'], where);
    const matchers = ['key', 'regex', 'rules'].filter((k) => raw[k] !== undefined);
    if (matchers.length !== 1) throw new Error(`${where}: give exactly one of key, regex and rules`);
    const route: RouteOptions = {
      name,
      durable: raw.durable === undefined ? false : parseBoolean(raw.durable),
      maxAttempts: raw.maxAttempts === undefined ? 0 : parseInteger(raw.maxAttempts, 1, 1000),
    };
    if (raw.key !== undefined) route.key = parseString(raw.key);
    if (raw.regex !== undefined) {
      try {
        route.regex = new RegExp(parseString(raw.regex));
      } catch (err) {
        throw new Error(`${where}: invalid regex: ${(err as Error).message}`);
      }
    }
    if (raw.rules !== undefined) route.rules = parseUrl(`${where}.rules`, raw.rules);
    if (raw.backend !== undefined) route.backend = parseString(raw.backend);
    if (raw.channel !== undefined) route.channel = parseString(raw.channel);
    const targets = (route.backend === undefined ? 0 : 1) + (route.channel === undefined ? 0 : 1);
    if (route.rules !== undefined ? targets !== 0 : targets !== 1) {
      throw new Error(
        route.rules !== undefined
          ? `${where}: a rules route takes its target from the rules service; give no backend or channel`
          : `${where}: give exactly one of backend and channel`,
      );
    }
    if (route.durable && route.channel !== undefined) throw new Error(`${where}: durable delivery is for backends; publishing to a channel is already stored by the broker`);
    return route;
  });
}

/** Cross-checks routes against backends, and service backends against the gateway, once the whole configuration is known. */
export function routingProblems(routing: { backends: Record<string, BackendOptions>; routes: RouteOptions[] }, gatewayEnabled: boolean): string[] {
  const problems: string[] = [];
  for (const [name, backend] of Object.entries(routing.backends)) {
    if (backend.service !== undefined && !gatewayEnabled)
      problems.push(`routing.backends: backend ${name} names gateway service ${JSON.stringify(backend.service)}, but gateway.enabled is false`);
  }
  for (const route of routing.routes) {
    if (route.backend !== undefined && !Object.hasOwn(routing.backends, route.backend)) {
      problems.push(`routing.routes: route ${route.name} names backend ${JSON.stringify(route.backend)}, which routing.backends does not define`);
    }
  }
  return problems;
}

interface LifecycleSettings {
  routing: { backends: Record<string, BackendOptions>; routes: RouteOptions[] };
  auth: { connectHook: { url: string }; disconnectHook: { url: string } };
}

/**
 * The lifecycle routes `$connect` and `$disconnect` name the backend that serves as the connect
 * hook (authorizer) or the disconnect hook; an explicitly configured hook URL must not disagree.
 */
export function applyLifecycleRoutes(config: LifecycleSettings, problems: string[]): void {
  for (const [key, hook] of [
    ['$connect', config.auth.connectHook],
    ['$disconnect', config.auth.disconnectHook],
  ] as const) {
    const route = config.routing.routes.find((r) => r.key === key);
    if (!route) continue;
    const backend = route.backend === undefined || !Object.hasOwn(config.routing.backends, route.backend) ? undefined : config.routing.backends[route.backend];
    if (!backend?.url || route.durable) {
      problems.push(`routing.routes: the ${key} route ${route.name} must name a backend with a url and not be durable`);
      continue;
    }
    if (hook.url !== '' && hook.url !== backend.url) {
      problems.push(`routing.routes: the ${key} route ${route.name} and auth.${key === '$connect' ? 'connectHook' : 'disconnectHook'}.url name different URLs`);
      continue;
    }
    hook.url = backend.url;
  }
}
