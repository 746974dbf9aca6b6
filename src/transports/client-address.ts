import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * The address of the client behind a request. From a trusted proxy (server.trustedProxies) it is
 * the right-most X-Forwarded-For address that is not itself a trusted proxy: addresses left of it
 * were written by the client and prove nothing. From anyone else the header is ignored.
 */
export class ClientAddresses {
  private readonly trusted = new BlockList();
  private readonly any: boolean;

  constructor(trustedProxies: string[]) {
    for (const entry of trustedProxies) {
      const [address, prefix] = entry.split('/') as [string, string | undefined];
      const family = isIP(address);
      const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
      this.trusted.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
    }
    this.any = trustedProxies.length > 0;
  }

  /** The client's IP address. */
  ipOf(req: IncomingMessage): string {
    const peer = req.socket.remoteAddress ?? '';
    if (!this.any || !this.isTrusted(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((h) => h.trim()).filter((h) => isIP(h) !== 0);
    for (let i = hops.length - 1; i >= 0; i--) if (!this.isTrusted(hops[i]!)) return hops[i]!;
    return hops[0] ?? peer;
  }

  /** `ip:port` of the client, as sessions record it (the port is the one of the connection to this node). */
  remoteOf(req: IncomingMessage): string {
    return `${this.ipOf(req)}:${req.socket.remotePort ?? ''}`;
  }

  private isTrusted(address: string): boolean {
    const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
    const family = isIP(plain);
    return family !== 0 && this.trusted.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** Parses server.trustedProxies: IPv4/IPv6 CIDRs or single addresses. */
export function parseTrustedProxies(entries: string[]): string[] {
  for (const entry of entries) {
    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const max = family === 4 ? 32 : 128;
    if (family === 0 || extra !== undefined || (prefix !== undefined && (!/^\d+$/.test(prefix) || Number(prefix) > max))) {
      throw new Error(`${JSON.stringify(entry)} is not an IP address or CIDR`);
    }
  }
  return entries;
}
