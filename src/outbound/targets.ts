import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import { buildConnector } from 'undici';
import { SwitchboardError } from '../protocol/errors.js';

/**
 * The features that send requests to addresses a tenant or a registering service chose: topic
 * webhooks (`push`, as the metric labels them) and the gateway.
 */
export type TargetFeature = 'push' | 'gateway';

/**
 * Addresses no webhook endpoint or runtime-registered instance may reach unless the operator lists
 * them: unspecified, loopback, private (RFC 1918, CGNAT, unique local), link-local (cloud metadata
 * at 169.254.169.254), the IETF block (192.0.0.192 is a metadata address), multicast and reserved.
 * IPv4 addresses inside IPv6 (mapped ::ffff:0:0/96, NAT64 64:ff9b::/96) are checked as IPv4.
 */
const forbidden = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  forbidden.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  // Unspecified, loopback and the deprecated IPv4-compatible addresses.
  ['::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  forbidden.addSubnet(net, prefix, 'ipv6');
}

/** `::ffff:7f00:1` (as URL and getaddrinfo write it) as `127.0.0.1`; other addresses unchanged. */
function embeddedIpv4(address: string): string {
  const canonical = isIP(address) === 6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
  const m = /^(?:::ffff|64:ff9b:):([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!m) return canonical;
  const high = parseInt(m[1]!, 16);
  const low = parseInt(m[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

const bare = (host: string) => host.replace(/^\[(.*)\]$/, '$1').toLowerCase();

/** Parses `security.allowedPrivateTargets` entries: CIDRs, addresses, host names and `*.domain` patterns. */
export function parseTargetList(entries: string[]): { addresses: BlockList; names: string[] } {
  const addresses = new BlockList();
  const names: string[] = [];
  for (const entry of entries) {
    const [host, prefix, extra] = entry.trim().split('/');
    const address = bare(host ?? '');
    const family = isIP(address);
    if (family !== 0 && extra === undefined) {
      const type = family === 4 ? 'ipv4' : 'ipv6';
      const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128) || (prefix !== undefined && !/^\d+$/.test(prefix))) {
        throw new Error(`${JSON.stringify(entry)} has an invalid prefix length`);
      }
      addresses.addSubnet(address, bits, type);
    } else if (prefix === undefined && /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(address)) {
      names.push(address);
    } else {
      throw new Error(`${JSON.stringify(entry)} is not a CIDR, an address or a host name`);
    }
  }
  return { addresses, names };
}

/** A target refused because it is, or resolves to, an internal address. */
export class ForbiddenTarget extends SwitchboardError {
  constructor(message: string) {
    super('forbidden_target', message);
  }
}

/**
 * Which addresses requests to tenant- and service-chosen URLs may reach (docs/security.md): webhook
 * endpoints of topic subscriptions, and gateway instances registered through the API (which
 * routing backends naming a service use too). `check` resolves a URL's host and refuses it when
 * any of its addresses is internal; `connector` does the same for every connection undici opens
 * and connects to the address it checked, so a name that resolves elsewhere later (DNS rebinding)
 * is refused too. Addresses and names in `security.allowedPrivateTargets` pass.
 */
export class TargetPolicy {
  private readonly allowed: { addresses: BlockList; names: string[] };
  private readonly refusals: Counter<'feature' | 'when'>;

  constructor(allowed: string[], registry: Registry) {
    this.allowed = parseTargetList(allowed);
    this.refusals = new Counter({
      name: 'switchboard_forbidden_targets_total',
      help: 'Webhook endpoints and registered instances refused because they are or resolve to internal addresses, by feature and by when (create: at creation or registration; connect: when connecting)',
      labelNames: ['feature', 'when'],
      registers: [registry],
    });
  }

  /** Resolves the URL's host; throws ForbiddenTarget when it is internal, or does not resolve. */
  async check(url: string, feature: TargetFeature): Promise<void> {
    const host = bare(new URL(url).hostname);
    if (this.allowsName(host)) return;
    let addresses: string[];
    if (isIP(host) !== 0) {
      addresses = [host];
    } else {
      try {
        addresses = (await resolve(host)).map((a) => a.address);
      } catch (err) {
        throw this.refuse(feature, 'create', `${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'}), so it cannot be checked`);
      }
    }
    const bad = addresses.find((a) => !this.permits(a));
    if (bad !== undefined) throw this.refuse(feature, 'create', this.reason(host, bad));
  }

  /**
   * An undici connector for connections to URLs of `feature`: an address literal is checked
   * before connecting, a name through a lookup that refuses internal addresses and hands the
   * socket the address it checked.
   */
  connector(feature: TargetFeature, options: { timeout?: number } = {}): buildConnector.connector {
    const guarded = buildConnector({ ...options, lookup: this.lookup(feature) });
    const trusted = buildConnector(options);
    return (opts, callback) => {
      let socket: { lookup?: LookupFunction };
      try {
        socket = this.socketOptions(opts.hostname, feature);
      } catch (err) {
        callback(err as Error, null);
        return;
      }
      (socket.lookup ? guarded : trusted)(opts, callback);
    };
  }

  /**
   * Options for a socket of its own to `host` (net or http connect): `lookup` refusing internal
   * addresses for a name; nothing for a listed name or a public address; throws ForbiddenTarget
   * for an internal address literal.
   */
  socketOptions(host: string, feature: TargetFeature): { lookup?: LookupFunction } {
    const name = bare(host);
    if (this.allowsName(name)) return {};
    if (isIP(name) === 0) return { lookup: this.lookup(feature) };
    if (!this.permits(name)) throw this.refuse(feature, 'connect', this.reason(name, name));
    return {};
  }

  /** A `lookup` for net.connect that fails with ForbiddenTarget when any address of the name is internal. */
  lookup(feature: TargetFeature): LookupFunction {
    return (hostname, options, callback) => {
      resolve(hostname).then(
        (addresses) => {
          const bad = addresses.find((a) => !this.permits(a.address));
          if (addresses.length === 0) {
            callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
          } else if (bad !== undefined) {
            callback(this.refuse(feature, 'connect', this.reason(hostname, bad.address)) as unknown as NodeJS.ErrnoException, '', 0);
          } else if (options.all) {
            (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, addresses);
          } else {
            callback(null, addresses[0]!.address, addresses[0]!.family);
          }
        },
        (err: NodeJS.ErrnoException) => callback(err, '', 0),
      );
    };
  }

  private permits(address: string): boolean {
    // A scoped IPv6 address (fe80::1%eth0) is checked without its zone.
    const ip = embeddedIpv4(address.replace(/%.*$/, ''));
    const type = isIP(ip) === 4 ? 'ipv4' : 'ipv6';
    return !forbidden.check(ip, type) || this.allowed.addresses.check(ip, type);
  }

  private allowsName(host: string): boolean {
    return this.allowed.names.some((name) => (name.startsWith('*.') ? host.endsWith(name.slice(1)) && host.length > name.length - 1 : host === name));
  }

  private reason(host: string, address: string): string {
    const what = host === address ? host : `${host} (${address})`;
    return `${what} is a loopback, private, link-local or otherwise internal address; list it in security.allowedPrivateTargets to allow it`;
  }

  private refuse(feature: TargetFeature, when: 'create' | 'connect', message: string): ForbiddenTarget {
    this.refusals.inc({ feature, when });
    return new ForbiddenTarget(message);
  }
}

function resolve(hostname: string): Promise<LookupAddress[]> {
  return new Promise((ok, fail) => dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? fail(err) : ok(addresses))));
}
