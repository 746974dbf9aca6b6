import type { Config } from '../config/schema.js';
import type { ClusterQuery, Publication } from '../brokers/broker.js';
import type { Stats } from '../observability/metrics.js';
import type { Session } from '../sessions/session.js';
import { ConsoleChannels, sessionsChannel, statsChannel } from './channels.js';
import type { ConsoleCredentials } from './credentials.js';
import { NodeSampler, type NodeSample } from './sampler.js';
import { SessionEventBatcher } from './session-events.js';
import { RateWindow } from './rates.js';
import { topicsOverview, type ApplicationOverview, type TopicsSource } from './topics-overview.js';
import { gatewayOverview, recordGatewayTotals, type GatewayOverview, type GatewaySource } from './gateway-overview.js';

/** One node's samples, as GET /api/admin/stats lists them. */
export interface NodeStats {
  node: string;
  interval: number;
  samples: NodeSample[];
}

/** What `$admin:stats` carries: one node's newest sample. */
export interface StatsEvent {
  node: string;
  interval: number;
  sample: NodeSample;
}

export interface ConsoleDeps {
  nodeId: string;
  config: Pick<Config, 'admin' | 'channels'>;
  credentials: ConsoleCredentials;
  stats: Stats;
  gauges: { connections(): number; subscriptions(): number };
  /** Publishes through the broker, so subscribers on every node see it. */
  publish(pub: Publication): Promise<unknown>;
  /** Called when a feed publication or a reading of counters fails (the broker is down). */
  onFailure(what: string, err: unknown): void;
  topics: TopicsSource & { metrics: { ackedTotals(): Map<string, number> } };
  /** Undefined without gateway.enabled. */
  gateway: GatewaySource | undefined;
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/**
 * The server side of the admin console on one node: who may sign in, the samples of its own
 * counters, and the live feed channels every node publishes to.
 */
export class AdminConsole {
  readonly credentials: ConsoleCredentials;
  readonly channels: ConsoleChannels;
  readonly sampler: NodeSampler;
  readonly sessionEvents: SessionEventBatcher;
  /** Rates over the last minute of topic acknowledgements and gateway requests and errors. */
  private readonly acked = new RateWindow();
  private readonly requests = new RateWindow();
  private readonly errors = new RateWindow();

  constructor(private readonly deps: ConsoleDeps) {
    const { config, stats, gauges } = deps;
    this.credentials = deps.credentials;
    this.channels = new ConsoleChannels(config.channels.default);
    this.sampler = new NodeSampler(
      {
        connections: gauges.connections,
        subscriptions: gauges.subscriptions,
        totals: () => ({
          publications: stats.publicationsApi + stats.publicationsClient + stats.publicationsBridge,
          deliveries: sum(stats.messagesOut),
          errors: sum(stats.errors.values()),
        }),
      },
      config.admin.sampleInterval,
      config.admin.historyMinutes,
      (sample) => {
        this.feed(statsChannel, { node: deps.nodeId, interval: config.admin.sampleInterval, sample } satisfies StatsEvent);
        this.recordRates();
      },
    );
    this.sessionEvents = new SessionEventBatcher(
      deps.nodeId,
      (events) => this.feed(sessionsChannel, events),
      config.admin.maxSessionEvents,
      () => stats.limit('session_events'),
    );
  }

  start(): void {
    this.sampler.start();
  }

  stop(): void {
    this.sampler.stop();
    this.sessionEvents.stop();
  }

  sessionOpened(session: Session): void {
    this.sessionEvents.sessionOpened(session);
  }

  sessionClosed(session: Session, reason: string): void {
    this.sessionEvents.sessionClosed(session, reason);
  }

  /** This node's answer to a node-stats query. */
  answer(query: Extract<ClusterQuery, { what: 'node-stats' }>): NodeStats {
    return { node: this.deps.nodeId, interval: this.sampler.interval, samples: this.sampler.samples(query.minutes) };
  }

  topicsOverview(): Promise<ApplicationOverview[]> {
    return topicsOverview(this.deps.topics, this.acked);
  }

  /** Undefined without gateway.enabled. */
  get gatewayOverview(): (() => GatewayOverview) | undefined {
    const gateway = this.deps.gateway;
    return gateway && (() => gatewayOverview(gateway, this.requests, this.errors));
  }

  private recordRates(): void {
    this.acked.record(this.deps.topics.metrics.ackedTotals());
    const gateway = this.deps.gateway;
    if (gateway) recordGatewayTotals(gateway, this.requests, this.errors).catch((err) => this.deps.onFailure('gateway counters', err));
  }

  private feed(channel: string, data: unknown): void {
    this.deps.publish({ channel, data, time: Date.now() }).catch((err) => this.deps.onFailure(channel, err));
  }
}
