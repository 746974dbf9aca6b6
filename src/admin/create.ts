import type { Logger } from 'pino';
import type { Broker } from '../brokers/broker.js';
import type { Config } from '../config/schema.js';
import { AdminConsole, type ConsoleDeps } from './console.js';
import type { GatewaySource } from './gateway-overview.js';

/** What the admin console is built from: the node's parts it watches and the broker it publishes its feed through. */
export interface ConsoleParts extends Pick<ConsoleDeps, 'nodeId' | 'credentials' | 'stats' | 'gauges' | 'topics'> {
  config: Pick<Config, 'admin' | 'channels' | 'gateway'>;
  log: Logger;
  broker: Pick<Broker, 'publish'>;
  /** Undefined without gateway.enabled. */
  gateway: Omit<GatewaySource, 'routes'> | undefined;
}

export function createAdminConsole(parts: ConsoleParts): AdminConsole {
  const { config, log, broker, gateway } = parts;
  return new AdminConsole({
    ...parts,
    publish: (pub) => broker.publish(pub),
    onFailure: (what, err) => log.warn({ event: 'admin.feed_failed', what, err: (err as Error).message }, 'admin console feed failed'),
    gateway: gateway && { registry: gateway.registry, upstreams: gateway.upstreams, routes: config.gateway.routes, metrics: gateway.metrics },
  });
}
