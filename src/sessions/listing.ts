import type { ClusterQuery } from '../brokers/broker.js';
import { SwitchboardError } from '../protocol/errors.js';
import { wireFormatNames } from '../protocol/wire.js';
import type { SessionRegistry } from './registry.js';
import type { Session, SessionView } from './session.js';

export interface SessionListing extends SessionView {
  node: string;
  transport: string;
  /** Token claims or the connect hook's context (what hooks receive too). */
  context: Record<string, unknown>;
}

/** One page of a list: at most `limit` entries after the cursor, in a stable order, and how many there are in all. */
export interface Page<T> {
  entries: T[];
  total: number;
}

export interface PageRequest {
  limit: number;
  /** The sort key of the last entry of the previous page. */
  after?: string;
}

/** Most entries one page of sessions or channels may hold. */
export const maxPageSize = 1000;

/** `limit=` and `after=` of a paged list request; undefined without limit (the whole list, as before paging existed). */
export function pageRequestOf(query: { limit?: string; after?: string }): PageRequest | undefined {
  if (query.limit === undefined) {
    if (query.after !== undefined) throw new SwitchboardError('bad_request', 'after needs limit');
    return undefined;
  }
  const limit = Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) throw new SwitchboardError('bad_request', `limit must be an integer from 1 to ${maxPageSize}`);
  return { limit, after: query.after === undefined ? undefined : decodeCursor(query.after) };
}

/** Cursors are opaque to callers: the sort key of the last entry, base64url-encoded. */
export function encodeCursor(key: string): string {
  return Buffer.from(key).toString('base64url');
}

function decodeCursor(cursor: string): string {
  if (!/^[A-Za-z0-9_-]{1,1400}$/.test(cursor)) throw new SwitchboardError('bad_request', 'after must be the next cursor of a previous page');
  return Buffer.from(cursor, 'base64url').toString();
}

/**
 * The entries of a page, sorted by key, after the cursor, with one more than the limit when there
 * is one (so the answer knows whether a next page exists); the total counts every entry given.
 */
export function pageOf<T>(entries: T[], keyOf: (entry: T) => string, page: PageRequest): Page<T> {
  const after = page.after;
  const rest = after === undefined ? [...entries] : entries.filter((e) => keyOf(e) > after);
  rest.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
  return { entries: rest.slice(0, page.limit + 1), total: entries.length };
}

/** The answer of a paged list: `next` is the cursor of the following page, null on the last. */
export function pageAnswer<T>(page: Page<T>, limit: number, keyOf: (entry: T) => string): { entries: T[]; total: number; next: string | null } {
  const entries = page.entries.slice(0, limit);
  const more = page.entries.length > limit;
  return { entries, total: page.total, next: more ? encodeCursor(keyOf(entries.at(-1)!)) : null };
}

export type SessionsQuery = Extract<ClusterQuery, { what: 'sessions' }>;

const sessionKey = (s: SessionListing) => s.id;

function listingOf(session: Session, node: string): SessionListing {
  return { ...session.describe(), context: session.context, node, transport: wireFormatNames[session.format] };
}

/**
 * This node's answer to a sessions query: every matching session, or with `page` one page of them
 * (by id) and their count, so a cluster-wide page costs each node at most a page on the wire.
 */
export function answerSessions(registry: SessionRegistry, node: string, query: SessionsQuery): SessionListing[] | Page<SessionListing> {
  let sessions: Iterable<Session>;
  if (query.node !== undefined && query.node !== node) sessions = [];
  else if (query.session !== undefined) sessions = [registry.get(query.session)].filter((s): s is Session => s !== undefined);
  else if (query.user !== undefined) sessions = registry.ofUser(query.user);
  else sessions = registry.all();
  const matching: Session[] = [];
  for (const s of sessions) {
    if (query.channel !== undefined && !s.channels.has(query.channel)) continue;
    if (query.transport !== undefined && wireFormatNames[s.format] !== query.transport) continue;
    matching.push(s);
  }
  if (!query.page) return matching.map((s) => listingOf(s, node));
  // Only the sessions of the page are described: a page of 100 out of 10,000 builds 101 listings.
  const { entries, total } = pageOf(matching, (s) => s.id, query.page);
  return { entries: entries.map((s) => listingOf(s, node)), total };
}

/** One cluster-wide page from every node's page of sessions. */
export function mergeSessionPages(answers: Iterable<unknown>, page: PageRequest): { sessions: SessionListing[]; total: number; next: string | null } {
  const all: SessionListing[] = [];
  let total = 0;
  for (const answer of answers) {
    const part = answer as Page<SessionListing> | null;
    if (!part || !Array.isArray(part.entries)) continue;
    all.push(...part.entries);
    total += part.total;
  }
  const { entries, next } = pageAnswer(pageOf(all, sessionKey, { limit: page.limit }), page.limit, sessionKey);
  return { sessions: entries, total, next };
}
