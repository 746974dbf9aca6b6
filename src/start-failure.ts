import { lookup } from 'node:dns/promises';
import type { Config } from './config/schema.js';
import { SwitchboardError, causeOf } from './protocol/errors.js';

/** The hosts of a setting holding comma-separated URLs or bare host:port addresses. */
function hostsOf(setting: string): string[] {
  return setting
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      try {
        return new URL(entry.includes('://') ? entry : `tcp://${entry}`).hostname.replace(/^\[|\]$/g, '');
      } catch {
        return entry;
      }
    });
}

/** The first host of these that DNS cannot resolve, if any. */
async function unresolvable(hosts: string[]): Promise<string | undefined> {
  for (const host of hosts) {
    try {
      await lookup(host);
    } catch {
      return host;
    }
  }
  return undefined;
}

/**
 * Why a node could not start, in one line that names the setting to look at (`server.port: 8080 is
 * already in use on 0.0.0.0`, `broker.redis.url: cannot resolve host nope.invalid`), for stderr.
 */
export async function describeStartFailure(err: unknown, config: Config): Promise<string> {
  const { host, port } = config.server;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') return `server.port: ${port} is already in use on ${host}`;
  if (code === 'EACCES') return `server.port: this process may not listen on port ${port} (ports below 1024 need privileges)`;
  if (code === 'EADDRNOTAVAIL') return `server.host: ${host} is not an address of this machine`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `server.host: cannot resolve host ${host}`;
  const message = err instanceof Error ? err.message : String(err);
  const broker = config.broker.type;
  if (err instanceof SwitchboardError && err.code === 'unavailable' && broker !== 'memory' && message === 'the broker is unavailable') {
    const [setting, value] = broker === 'redis' ? ['broker.redis.url', config.broker.redis.url] : ['broker.nats.servers', config.broker.nats.servers];
    const unknownHost = await unresolvable(hostsOf(value));
    if (unknownHost !== undefined) return `${setting}: cannot resolve host ${unknownHost}`;
    return `${setting}: cannot connect to ${value.replace(/(:\/\/[^:/@\s]*:)[^@/\s]+@/g, '$1********@')} (${causeOf(err)})`;
  }
  return `could not start: ${message.split('\n')[0]}`;
}
