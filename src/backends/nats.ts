import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { OutageBackoff, type BackoffPolicy } from './backoff.js';

/** Where a feature's NATS is, and as whom it connects (broker.nats). */
export interface NatsSettings {
  /** Comma-separated server URLs (tls:// for TLS). */
  servers: string;
  user?: string;
  pass?: string;
  token?: string;
}

/** Reconnecting to NATS: from 100 ms, growing with the outage up to 5 s, with jitter. */
const reconnectBackoff: BackoffPolicy = { initial: 100, max: 5000, jitter: 'half' };

export interface NatsConnectOptions {
  /** The connection's name, as the server lists it. */
  name: string;
  /** ms a connection attempt (and the client's requests) may take. */
  timeout?: number;
  /** Extra client options (pings, for one). */
  client?: Partial<ConnectionOptions>;
}

/**
 * A connection to the servers of the settings that reconnects for ever, with the shared backoff;
 * throws when no server can be reached now.
 */
export async function connectNats(settings: NatsSettings, options: NatsConnectOptions): Promise<NatsConnection> {
  const { user, pass, token } = settings;
  const backoff = new OutageBackoff(reconnectBackoff);
  const nc = await connect({
    servers: settings.servers
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    name: options.name,
    ...(user ? { user, pass } : {}),
    ...(token ? { token } : {}),
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    maxReconnectAttempts: -1,
    reconnectDelayHandler: () => backoff.delay(),
    ...options.client,
  });
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') backoff.down();
      else if (status.type === 'reconnect') backoff.recovered();
    }
  })();
  return nc;
}

/** A prefix as a name NATS accepts in subjects, stream and bucket names. */
export function natsName(prefix: string): string {
  return prefix.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '') || 'switchboard';
}
