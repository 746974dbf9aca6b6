import type { IncomingHttpHeaders } from 'node:http';
import { SwitchboardError } from '../protocol/errors.js';
import { defaultPorts, parsePattern, type OriginPattern as Pattern } from '../config/origins.js';

/**
 * What the origin policy makes of a request:
 * - `none`: no Origin header (curl, servers, mobile apps): not a browser's cross-origin request;
 * - `same`: the page comes from the node's own origin;
 * - `listed`: an origin the settings list; it may send credentials (cookies);
 * - `any`: allowed only because the settings say `*`: no credentials, cookies are ignored;
 * - `refused`: any other origin, or an Origin header that is not an origin.
 */
export type OriginVerdict = 'none' | 'same' | 'listed' | 'any' | 'refused';

/** An Origin header as scheme, host and port; undefined when it is not an http(s) origin as browsers serialize it. */
function parseOrigin(text: string): Pattern | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  const port = url.port || defaultPorts[url.protocol];
  if (!port || url.origin !== text) return undefined;
  return { scheme: url.protocol, host: url.hostname, wildcard: false, port };
}

/** The host and port a request was sent to (Host, or :authority over HTTP/2). */
function targetOf(headers: IncomingHttpHeaders, scheme: string): { host: string; port: string } | undefined {
  const authority = headers.host ?? (headers[':authority'] as string | undefined);
  if (!authority) return undefined;
  try {
    const url = new URL(`${scheme}//${authority}`);
    return { host: url.hostname, port: url.port || defaultPorts[scheme]! };
  } catch {
    return undefined;
  }
}

/**
 * Decides which browser origins may use a set of endpoints: the one answer behind WebSocket
 * upgrades, CORS headers and preflights, and whether a cookie may carry a token.
 */
export class OriginPolicy {
  private readonly patterns: Pattern[];
  private readonly anyOrigin: boolean;

  /**
   * @param allowed entries of an allowedOrigins setting
   * @param tls the node serves https itself, so its own origin has the https scheme (without TLS
   *   either scheme counts, as a TLS-terminating proxy may stand in front)
   */
  constructor(
    allowed: string[],
    private readonly tls: boolean,
  ) {
    this.anyOrigin = allowed.includes('*');
    this.patterns = allowed.filter((a) => a !== '*').map(parsePattern);
  }

  decide(headers: IncomingHttpHeaders): OriginVerdict {
    const header = headers.origin;
    if (header === undefined) return 'none';
    const origin = parseOrigin(header);
    if (!origin) return this.anyOrigin && header === 'null' ? 'any' : 'refused';
    if (this.isSameOrigin(origin, headers)) return 'same';
    if (this.patterns.some((p) => matches(p, origin))) return 'listed';
    return this.anyOrigin ? 'any' : 'refused';
  }

  /** The verdict, thrown as a 403 `forbidden` error when the origin is refused. */
  check(headers: IncomingHttpHeaders): OriginVerdict {
    const verdict = this.decide(headers);
    if (verdict === 'refused') {
      const shown = JSON.stringify(String(headers.origin).slice(0, 100));
      throw new SwitchboardError('forbidden', `origin ${shown} is not allowed; list it in allowedOrigins (docs/security.md, "Browsers and origins")`);
    }
    return verdict;
  }

  private isSameOrigin(origin: Pattern, headers: IncomingHttpHeaders): boolean {
    if (this.tls && origin.scheme !== 'https:') return false;
    const target = targetOf(headers, origin.scheme);
    return target !== undefined && target.host === origin.host && target.port === origin.port;
  }
}

function matches(pattern: Pattern, origin: Pattern): boolean {
  if (pattern.scheme !== origin.scheme || pattern.port !== origin.port) return false;
  return pattern.wildcard ? origin.host.endsWith(pattern.host) : origin.host === pattern.host;
}

/** Whether a verdict lets the request's cookies stand for the visitor: only their own pages and listed origins. */
export function mayUseCookies(verdict: OriginVerdict): boolean {
  return verdict === 'none' || verdict === 'same' || verdict === 'listed';
}

/**
 * The headers authentication may see. A page from an origin allowed only by `*` could ride on the
 * visitor's cookies, so its cookies are left out: they neither carry a token nor reach the connect hook.
 */
export function credentialHeaders(headers: IncomingHttpHeaders, policy: OriginPolicy): IncomingHttpHeaders {
  if (headers.cookie === undefined || mayUseCookies(policy.decide(headers))) return headers;
  const rest = { ...headers };
  delete rest.cookie;
  return rest;
}

/** The policy of the client endpoints (server.allowedOrigins): also whose pages the token cookie may stand for. */
export function clientOriginPolicy(server: { allowedOrigins: string[]; tls: { cert: string } }): OriginPolicy {
  return new OriginPolicy(server.allowedOrigins, server.tls.cert !== '');
}
