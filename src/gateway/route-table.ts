import type { IncomingHttpHeaders } from 'node:http';
import type { GatewayRoute } from '../config/gateway.js';
import { normalizePath } from './path.js';

export interface RouteMatch {
  route: GatewayRoute;
  /** The path to send upstream (before the instance's base path), without the query. */
  path: string;
  /** The query string without `?`; empty when there is none. */
  query: string;
  /** The path the client asked for, normalized (path.ts), before the route's rewrite. */
  originalPath: string;
}

function hostMatches(pattern: string, hostHeader: string | undefined): boolean {
  if (pattern === '') return true;
  if (!hostHeader) return false;
  const host = hostHeader.toLowerCase().replace(/:\d+$/, '');
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return host === pattern;
}

function prefixMatches(prefix: string, path: string): boolean {
  return prefix === '/' || path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47);
}

/** `/v2` + `/orders/1`, without a doubled or missing slash. */
function join(base: string, rest: string): string {
  if (rest === '' || rest === '/') return base === '' ? '/' : base;
  return `${base.replace(/\/$/, '')}${rest.startsWith('/') ? rest : `/${rest}`}`;
}

/** The configured proxy routes, tried in order. */
export class RouteTable {
  constructor(readonly routes: GatewayRoute[]) {}

  get empty(): boolean {
    return this.routes.length === 0;
  }

  /** The first route for the request, matched on its normalized path; throws `bad_path` for an ambiguous path. */
  match(method: string, url: string, headers: IncomingHttpHeaders): RouteMatch | undefined {
    // Only origin-form targets (`/path?query`); absolute-form and `*` are not proxied.
    if (this.routes.length === 0 || url.charCodeAt(0) !== 47) return undefined;
    const q = url.indexOf('?');
    const originalPath = normalizePath(q === -1 ? url : url.slice(0, q));
    const query = q === -1 ? '' : url.slice(q + 1);
    for (const route of this.routes) {
      if (route.methods.length > 0 && !route.methods.includes(method)) continue;
      if (!hostMatches(route.host, headers.host)) continue;
      if (route.pathRegex ? !route.pathRegex.test(originalPath) : !prefixMatches(route.path, originalPath)) continue;
      if (!route.headers.every(([name, value]) => headers[name] !== undefined && (value === '*' || headers[name] === value))) continue;
      return { route, path: this.rewrite(route, originalPath), query, originalPath };
    }
    return undefined;
  }

  private rewrite(route: GatewayRoute, path: string): string {
    if (route.pathRegex) return route.rewrite === '' ? path : path.replace(route.pathRegex, route.rewrite);
    if (route.stripPrefix) return join('', route.path === '/' ? path : path.slice(route.path.length));
    if (route.rewrite !== '') return join(route.rewrite, route.path === '/' ? path : path.slice(route.path.length));
    return path;
  }
}
