import { parseTargetList } from '../outbound/targets.js';

/** Parses server.trustedProxies: IPv4/IPv6 CIDRs or single addresses (no host names). */
export function parseTrustedProxies(entries: string[]): string[] {
  const { names } = parseTargetList(entries);
  if (names.length > 0) throw new Error(`${JSON.stringify(names[0])} is not an IP address or CIDR`);
  return entries;
}
