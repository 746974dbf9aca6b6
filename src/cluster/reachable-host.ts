import { hostname, networkInterfaces } from 'node:os';

/**
 * A host other machines can reach this node at when it listens on every interface (0.0.0.0, ::):
 * the first non-loopback IPv4 address, else the host name. Any other host is returned as it is.
 */
export function reachableHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return host.includes(':') ? `[${host}]` : host;
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return hostname();
}
