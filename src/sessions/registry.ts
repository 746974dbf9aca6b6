import { wireFormatCount } from '../protocol/wire.js';
import type { Session } from './session.js';

/** Sessions of this node, by id and by user. */
export class SessionRegistry {
  private readonly byId = new Map<string, Session>();
  private readonly byUser = new Map<string, Set<Session>>();
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
  }

  remove(session: Session): void {
    if (!this.byId.delete(session.id)) return;
    this.formatCounts[session.format]! -= 1;
    const sessions = this.byUser.get(session.user);
    sessions?.delete(session);
    if (sessions?.size === 0) this.byUser.delete(session.user);
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
