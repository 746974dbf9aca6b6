import { wireFormatCount } from '../protocol/wire.js';
import type { Session } from './session.js';

/** The IP address of a `host:port` remote (IPv6 addresses hold colons themselves). */
export function ipOf(remote: string): string {
  const colon = remote.lastIndexOf(':');
  return colon === -1 ? remote : remote.slice(0, colon);
}

/** Sessions of this node, by id, by user and counted by remote IP address. */
export class SessionRegistry {
  private readonly byId = new Map<string, Session>();
  private readonly byUser = new Map<string, Set<Session>>();
  private readonly countByIp = new Map<string, number>();
  private readonly formatCounts = new Array<number>(wireFormatCount).fill(0);

  get size(): number {
    return this.byId.size;
  }

  add(session: Session): void {
    this.byId.set(session.id, session);
    this.formatCounts[session.format]! += 1;
    let sessions = this.byUser.get(session.user);
    if (!sessions) this.byUser.set(session.user, (sessions = new Set()));
    sessions.add(session);
    const ip = ipOf(session.remote);
    this.countByIp.set(ip, (this.countByIp.get(ip) ?? 0) + 1);
  }

  remove(session: Session): void {
    if (!this.byId.delete(session.id)) return;
    this.formatCounts[session.format]! -= 1;
    const sessions = this.byUser.get(session.user);
    sessions?.delete(session);
    if (sessions?.size === 0) this.byUser.delete(session.user);
    const ip = ipOf(session.remote);
    const left = (this.countByIp.get(ip) ?? 1) - 1;
    if (left === 0) this.countByIp.delete(ip);
    else this.countByIp.set(ip, left);
  }

  /** Open sessions from one remote IP address. */
  countOfIp(ip: string): number {
    return this.countByIp.get(ip) ?? 0;
  }

  get(id: string): Session | undefined {
    return this.byId.get(id);
  }

  /** Sessions of one user ('' is the anonymous user). */
  ofUser(user: string): ReadonlySet<Session> {
    return this.byUser.get(user) ?? new Set();
  }

  all(): IterableIterator<Session> {
    return this.byId.values();
  }

  countsByFormat(): number[] {
    return [...this.formatCounts];
  }
}
