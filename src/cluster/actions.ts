import type { Logger } from 'pino';
import type { Broker, ClusterQuery, ControlMessage, ControlTarget, NodeReport } from '../brokers/broker.js';
import type { Config } from '../config/schema.js';
import type { Hub } from '../hub/hub.js';
import type { Lifecycle } from './lifecycle.js';
import type { CpuMeter } from '../observability/cpu.js';
import { answerSessions, mergeSessionPages, type PageRequest, type SessionListing, type SessionsQuery } from '../sessions/listing.js';
import type { SessionService } from '../sessions/service.js';
import type { Session } from '../sessions/session.js';
import { secretDigest } from '../sessions/session-secrets.js';
import { version } from '../observability/version.js';
import type { ClusterHandlers } from './cluster.js';
import { reachableHost } from './reachable-host.js';

export type ClusterCommand = Exclude<ControlMessage, { kind: 'node' | 'query' | 'answer' }>;

export interface ClusterActionsDeps {
  nodeId: string;
  config: Config;
  broker: Broker;
  hub: Hub<Session>;
  sessions: SessionService;
  lifecycle: Lifecycle;
  cpu: CpuMeter;
  /** The port the node listens on, once it does. */
  port: () => number;
  /** Answers the admin console's node-stats queries (admin.enabled). */
  nodeStats: ((query: Extract<ClusterQuery, { what: 'node-stats' }>) => unknown) | undefined;
  /** Asks every live node (see Cluster.query). */
  query: (query: ClusterQuery) => Promise<Map<string, unknown>>;
  log: Logger;
}

/**
 * What this node does for the cluster (its report, its answers to queries, the commands it
 * carries out on its sessions) and the cluster-wide questions about sessions it asks.
 */
export class ClusterActions implements ClusterHandlers {
  constructor(private readonly deps: ClusterActionsDeps) {}

  /** This node's sessions a control target names. */
  private localSessions(target: ControlTarget): Session[] {
    const { registry } = this.deps.sessions;
    if ('session' in target) {
      const session = registry.get(target.session);
      return session ? [session] : [];
    }
    return [...registry.ofUser(target.user)];
  }

  /** Carries out a control command on this node's sessions. */
  act(message: ClusterCommand): void {
    const { sessions } = this.deps;
    const targets = this.localSessions(message.target);
    switch (message.kind) {
      case 'disconnect':
        for (const session of targets) session.close(message.code, message.reason, { type: 'disconnect', code: message.code, reason: message.reason }, 'api_disconnect');
        return;
      case 'send':
        for (const session of targets) session.sendMessage(message.data);
        return;
      case 'reply':
        for (const session of targets) session.send({ type: 'reply', id: message.id, data: message.data, error: message.error });
        return;
      case 'subscribe':
      case 'unsubscribe': {
        const channel = sessions.tryResolve(message.channel);
        if (!channel) return;
        for (const session of targets) {
          if (message.kind === 'subscribe') (session.serverChannels ??= new Set()).add(channel.name);
          const done = message.kind === 'subscribe' ? sessions.subscribe(session, channel) : sessions.unsubscribe(session, channel, undefined, 'server');
          done.catch((err) =>
            this.deps.log.warn({ event: 'session.server_subscribe_failed', session: session.id, err: (err as Error).message }, 'server-side subscription change failed'),
          );
        }
        return;
      }
    }
  }

  /** This node's answer to a cluster query. */
  answer(query: ClusterQuery): unknown {
    const { hub, sessions } = this.deps;
    if (query.what === 'channels') return hub.list(query.prefix);
    if (query.what === 'stream-session') {
      const session = sessions.registry.get(query.session);
      return session ? { user: session.user, secretMatches: sessions.secrets.matches(session.id, query.secretDigest) } : null;
    }
    if (query.what === 'node-stats') return this.deps.nodeStats?.(query) ?? null;
    return answerSessions(sessions.registry, this.deps.nodeId, query);
  }

  /** This node's heartbeat report. */
  report(): NodeReport {
    const { config, lifecycle, hub, broker } = this.deps;
    const port = lifecycle.state === 'created' ? config.server.port : this.deps.port();
    return {
      id: this.deps.nodeId,
      url: config.cluster.advertiseUrl || `${config.server.tls.cert ? 'https' : 'http'}://${reachableHost(config.server.host)}:${port}`,
      state: lifecycle.reportedState,
      sessions: this.deps.sessions.registry.size,
      subscriptions: hub.subscriptions,
      channels: hub.channelCount,
      startedAt: lifecycle.startedAt,
      time: Date.now(),
      version,
      uptimeSeconds: Math.round(lifecycle.uptimeSeconds),
      cpu: this.deps.cpu.read(),
      rss: process.memoryUsage.rss(),
      broker: { type: broker.name, connected: broker.healthy },
    };
  }

  /**
   * The user of a live session on any node, and whether `secret` is the session's (see
   * SessionSecrets); undefined when no node holds the session.
   */
  async streamSession(id: string, secret: string): Promise<{ user: string; secretMatches: boolean } | undefined> {
    type Found = { user: string; secretMatches: boolean };
    // Nodes without the session answer null (nodes of an older version a list): only its holder's answer counts.
    const isFound = (a: unknown): a is Found => typeof a === 'object' && a !== null && typeof (a as Found).secretMatches === 'boolean';
    const query: ClusterQuery = { what: 'stream-session', session: id, secretDigest: secretDigest(secret) };
    const local = this.answer(query);
    if (isFound(local)) return local;
    const answers = await this.deps.query(query);
    return [...answers.values()].find(isFound);
  }

  /** Sessions on every live node matching the filter. */
  async clusterSessions(filter: Omit<SessionsQuery, 'what' | 'page'>): Promise<SessionListing[]> {
    const answers = await this.deps.query({ what: 'sessions', ...filter });
    return [...answers.values()].flatMap((list) => (Array.isArray(list) ? (list as SessionListing[]) : []));
  }

  /** One page of the sessions on every live node matching the filter, ordered by id. */
  async clusterSessionPage(filter: Omit<SessionsQuery, 'what' | 'page'>, page: PageRequest): Promise<{ sessions: SessionListing[]; total: number; next: string | null }> {
    return mergeSessionPages((await this.deps.query({ what: 'sessions', ...filter, page })).values(), page);
  }
}
