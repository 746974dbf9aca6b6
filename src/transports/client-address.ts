import type { IncomingMessage } from 'node:http';
import { isIP, type BlockList } from 'node:net';
import { parseTargetList } from '../outbound/targets.js';

/**
 * The address of the client behind a request. From a trusted proxy (server.trustedProxies) it is
 * the right-most X-Forwarded-For address that is not itself a trusted proxy: addresses left of it
 * were written by the client and prove nothing. From anyone else the header is ignored.
 */
export class ClientAddresses {
  private readonly trusted: BlockList;
  private readonly any: boolean;

  constructor(trustedProxies: string[]) {
    this.trusted = parseTargetList(trustedProxies).addresses;
    this.any = trustedProxies.length > 0;
  }

  /** The client's IP address. */
  ipOf(req: IncomingMessage): string {
    const peer = req.socket.remoteAddress ?? '';
    if (!this.any || !this.isTrusted(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((h) => h.trim())
      .filter((h) => isIP(h) !== 0);
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
