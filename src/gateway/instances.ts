import type { HealthCheckConfig } from '../config/gateway.js';

/** One registered (or configured) instance of a service, as the registry stores and lists it. */
export interface ServiceInstance {
  service: string;
  id: string;
  /** http(s)://host:port[/base] or grpc(s)://host:port. */
  url: string;
  protocol: 'http' | 'grpc';
  weight: number;
  metadata: Record<string, string>;
  check: HealthCheckConfig;
  /** ms a registration lives without a heartbeat; 0: until deregistered. */
  ttl: number;
  /** ms since the epoch when it expires unless refreshed; 0: never. */
  expiresAt: number;
  registeredAt: number;
  /** Node that accepted the registration. */
  node: string;
  source: 'api' | 'config';
}

/** A service every node treats as down: no instance of it answered; requests get 503 until `until` or until one is back. */
export interface DownMark {
  since: number;
  until: number;
  node: string;
}

/** The key of an instance in maps and stores. */
export function instanceKey(service: string, id: string): string {
  return `${service}\n${id}`;
}
