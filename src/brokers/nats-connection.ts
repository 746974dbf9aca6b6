import type { ConnectionOptions } from '@nats-io/transport-node';
import type { Config } from '../config/schema.js';

/** The NATS settings every part that talks to NATS shares (broker.nats). */
export type NatsSettings = Config['broker']['nats'];

/** Connection options from the settings: the servers, the credentials, and reconnecting for ever. */
export function natsConnectOptions(settings: { servers: string; user?: string; pass?: string; token?: string }, name: string, timeout: number): ConnectionOptions {
  const { user, pass, token } = settings;
  return {
    servers: settings.servers.split(',').map((s) => s.trim()).filter(Boolean),
    name,
    ...(user ? { user, pass } : {}),
    ...(token ? { token } : {}),
    timeout,
    maxReconnectAttempts: -1,
  };
}
