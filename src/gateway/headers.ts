import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** Headers that describe one connection, not the message: never forwarded (RFC 9110 section 7.6.1). */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'expect',
]);

/** Headers the gateway sets itself on the way up. */
const forwardingHeaders = new Set(['host', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-prefix']);

/** Headers in which proxies name the client's address: a client's own are dropped unless `trustForwarded`. */
const clientAddressHeaders = new Set(['x-real-ip', 'true-client-ip', 'x-client-ip', 'x-cluster-client-ip', 'cf-connecting-ip', 'fastly-client-ip']);

/** Names the Connection header lists, which are hop-by-hop for this message too. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  return new Set(
    text
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== ''),
  );
}

/** The size of a request's header block as received: names, values and separators. */
export function headerBytes(req: IncomingMessage): number {
  let n = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i++) n += raw[i]!.length;
  return n + raw.length * 2;
}

export interface ForwardOptions {
  trustForwarded: boolean;
  /** Host header for the upstream; undefined keeps the client's. */
  upstreamHost: string | undefined;
  /** Set as X-Forwarded-Prefix when the route removed or replaced a prefix. */
  prefix: string | undefined;
  /** Headers to set (claims), replacing any the client sent under those names. */
  extra: [string, string][];
  /** Headers only the gateway sets (the claim headers of every route): the client's are dropped. */
  gatewayOnly: ReadonlySet<string>;
  /** Keep Connection: Upgrade and Upgrade (WebSocket handshakes). */
  upgrade: boolean;
}

function quoteNode(ip: string): string {
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

/**
 * Whether a client's header must not reach the service: hop-by-hop, one the gateway sets, a client
 * address unless forwarding headers are trusted, or any of these spelled with `_` for `-`, which
 * CGI and WSGI servers read as the same header (`X_User_Id` is their `X-User-Id`).
 */
function dropped(name: string, listed: Set<string> | undefined, options: ForwardOptions): boolean {
  if (hopByHop.has(name) || listed?.has(name) || forwardingHeaders.has(name) || options.gatewayOnly.has(name)) return true;
  if (clientAddressHeaders.has(name)) return !options.trustForwarded;
  if (!name.includes('_')) return false;
  const dashed = name.replace(/_/g, '-');
  return hopByHop.has(dashed) || forwardingHeaders.has(dashed) || clientAddressHeaders.has(dashed) || options.gatewayOnly.has(dashed);
}

/** The request headers to send upstream: hop-by-hop and forged ones removed, Forwarded and X-Forwarded-* set. */
export function upstreamHeaders(req: IncomingMessage, options: ForwardOptions): OutgoingHttpHeaders {
  const incoming = req.headers;
  const listed = connectionTokens(incoming.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in incoming) if (!dropped(name, listed, options)) out[name] = incoming[name];
  for (const [name, value] of options.extra) out[name] = value;
  const ip = req.socket.remoteAddress ?? '';
  const proto = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  const host = incoming.host ?? '';
  const trust = options.trustForwarded;
  out['x-forwarded-for'] = trust && incoming['x-forwarded-for'] ? `${incoming['x-forwarded-for']}, ${ip}` : ip;
  out['x-forwarded-proto'] = (trust && (incoming['x-forwarded-proto'] as string | undefined)) || proto;
  out['x-forwarded-host'] = (trust && (incoming['x-forwarded-host'] as string | undefined)) || host;
  if (options.prefix !== undefined) out['x-forwarded-prefix'] = options.prefix;
  const element = `for=${quoteNode(ip)};host="${host.replace(/["\\]/g, '')}";proto=${proto}`;
  out.forwarded = trust && incoming.forwarded ? `${incoming.forwarded}, ${element}` : element;
  out.host = options.upstreamHost ?? host;
  if (options.upgrade) {
    out.connection = 'Upgrade';
    out.upgrade = incoming.upgrade;
  }
  return out;
}

/** An upstream's response headers to send to the client: hop-by-hop removed. */
export function downstreamHeaders(headers: Record<string, string | string[] | undefined> | IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (hopByHop.has(name) || listed?.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** An upstream's raw response headers (undici's name, value, ... buffers) as a flat list for writeHead, hop-by-hop removed. */
export function downstreamRawHeaders(raw: Buffer[]): string[] {
  const out: string[] = [];
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    if (name === 'connection') listed = connectionTokens(raw[i + 1]!.toString('latin1'));
    if (hopByHop.has(name)) continue;
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  if (!listed) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!listed.has(out[i]!)) kept.push(out[i]!, out[i + 1]!);
  return kept;
}

/** Header values as lists, for the gRPC ForwardingReq. */
export function headerLists(headers: OutgoingHttpHeaders): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.map(String) : [String(value)];
  }
  return out;
}

/** The value of a cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
