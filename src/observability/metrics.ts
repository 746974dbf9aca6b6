import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { errorCodes, type ErrorCode } from '../protocol/errors.js';
import { wireFormatCount, wireFormatNames } from '../protocol/wire.js';
import { version } from './version.js';
import { limitNames, type LimitName } from '../protocol/limits.js';

export { limitNames, type LimitName } from '../protocol/limits.js';

/**
 * Counters the hot path bumps as plain numbers; Prometheus reads them at scrape time, so a
 * delivery costs an addition, not a label lookup.
 */
export class Stats {
  readonly messagesOut = new Float64Array(wireFormatCount);
  readonly bytesOut = new Float64Array(wireFormatCount);
  readonly messagesIn = new Float64Array(wireFormatCount);
  readonly connections = new Float64Array(wireFormatCount);
  publicationsApi = 0;
  publicationsClient = 0;
  publicationsBridge = 0;
  droppedBytes = 0;
  readonly errors = new Map<ErrorCode, number>(errorCodes.map((c) => [c, 0]));
  readonly limits = new Map<LimitName, number>(limitNames.map((l) => [l, 0]));
  readonly disconnects = new Map<string, number>();
  readonly authFailures = new Map<string, number>();
  readonly hookCalls = new Map<string, number>();

  error(code: ErrorCode): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  limit(name: LimitName): void {
    this.limits.set(name, (this.limits.get(name) ?? 0) + 1);
  }

  disconnect(reason: string): void {
    this.disconnects.set(reason, (this.disconnects.get(reason) ?? 0) + 1);
  }

  /** A refused credential, by reason. The error answered for it is counted where it is answered, once. */
  authFailure(reason: string): void {
    this.authFailures.set(reason, (this.authFailures.get(reason) ?? 0) + 1);
  }

  hookCall(hook: string, outcome: string): void {
    const key = `${hook} ${outcome}`;
    this.hookCalls.set(key, (this.hookCalls.get(key) ?? 0) + 1);
  }
}

export interface Gauges {
  sessionsByFormat(): number[];
  subscriptions(): number;
  channels(): number;
}

export interface Metrics {
  registry: Registry;
  stats: Stats;
  publishDuration: Histogram<'source'>;
}

type Sample = [labels: Record<string, string>, value: number];

function perFormat(values: ArrayLike<number>): Sample[] {
  return wireFormatNames.map((transport, f) => [{ transport }, values[f]!]);
}

export function createMetrics(gauges: Gauges): Metrics {
  const registry = new Registry();
  const stats = new Stats();
  // Unprefixed, so stock Node.js dashboards find process_* and nodejs_* as they expect.
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'switchboard_build_info',
    help: 'Always 1; the labels tell the Switchboard version and the Node.js version of this node',
    labelNames: ['version', 'node'],
    registers: [registry],
  }).set({ version, node: process.version }, 1);

  // Counters mirror Stats at scrape time: reset, then set to the current totals.
  const counter = (name: string, help: string, labelNames: string[], samples: () => Sample[]) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Counter) {
        this.reset();
        for (const [labels, value] of samples()) this.inc(labels, value);
      },
    });

  new Gauge({
    name: 'switchboard_sessions',
    help: 'Client sessions open on this node, by transport',
    labelNames: ['transport'],
    registers: [registry],
    collect(this: Gauge) {
      for (const [labels, value] of perFormat(gauges.sessionsByFormat())) this.set(labels, value);
    },
  });
  new Gauge({
    name: 'switchboard_subscriptions',
    help: 'Channel subscriptions of sessions on this node',
    registers: [registry],
    collect(this: Gauge) {
      this.set(gauges.subscriptions());
    },
  });
  new Gauge({
    name: 'switchboard_channels',
    help: 'Channels with at least one subscriber on this node',
    registers: [registry],
    collect(this: Gauge) {
      this.set(gauges.channels());
    },
  });
  counter('switchboard_connections_total', 'Client connections accepted, by transport', ['transport'], () => perFormat(stats.connections));
  counter('switchboard_disconnections_total', 'Client sessions ended, by reason', ['reason'], () => [...stats.disconnects].map(([reason, n]): Sample => [{ reason }, n]));
  counter('switchboard_publications_total', 'Publications accepted, by source', ['source'], () => [
    [{ source: 'api' }, stats.publicationsApi],
    [{ source: 'client' }, stats.publicationsClient],
    [{ source: 'bridge' }, stats.publicationsBridge],
  ]);
  counter('switchboard_messages_out_total', 'Messages written to clients, by transport', ['transport'], () => perFormat(stats.messagesOut));
  counter('switchboard_sent_bytes_total', 'Publication bytes written to clients, by transport', ['transport'], () => perFormat(stats.bytesOut));
  counter('switchboard_messages_in_total', 'Frames received from clients, by transport', ['transport'], () => perFormat(stats.messagesIn));
  counter('switchboard_dropped_bytes_total', 'Outbound bytes discarded because their session was closed as a slow consumer', [], () => [[{}, stats.droppedBytes]]);
  counter('switchboard_errors_total', 'Errors answered to clients and API callers, by code', ['code'], () => [...stats.errors].map(([code, n]): Sample => [{ code }, n]));
  counter('switchboard_limit_hits_total', 'Requests or sessions stopped by a configured limit, by limit', ['limit'], () =>
    [...stats.limits].map(([limit, n]): Sample => [{ limit }, n]),
  );
  counter('switchboard_auth_failures_total', 'Client credentials refused, by reason', ['reason'], () => [...stats.authFailures].map(([reason, n]): Sample => [{ reason }, n]));
  counter('switchboard_hook_calls_total', 'Calls of connect, subscribe, publish and disconnect hooks, by hook and outcome', ['hook', 'outcome'], () =>
    [...stats.hookCalls].map(([key, n]): Sample => {
      const [hook, outcome] = key.split(' ');
      return [{ hook: hook!, outcome: outcome! }, n];
    }),
  );
  const publishDuration = new Histogram({
    name: 'switchboard_publish_duration_seconds',
    help: 'Time to accept one publish API request, from parsed body to fan-out done',
    labelNames: ['source'],
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  return { registry, stats, publishDuration };
}
