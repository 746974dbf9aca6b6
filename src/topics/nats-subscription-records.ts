import type { KvEntry } from '@nats-io/kv';
import { SwitchboardError } from '../protocol/errors.js';
import type { SubscriptionConfig } from './store.js';

/** How long a node trusts a subscription record it read (settings and seek generation). */
const RECORD_TTL_MS = 2000;

/** What the store keeps per subscription in its registry bucket. */
export interface SubscriptionRecord {
  config: SubscriptionConfig;
  /** Bumped by every seek: the consumer is `<name>-g<generation>`, so older ack ids reach no consumer. */
  generation: number;
}

/** Subscription records read from the registry bucket, trusted for RECORD_TTL_MS (another node may change or seek them). */
export class SubscriptionRecords {
  private readonly known = new Map<string, { record: SubscriptionRecord; readAt: number }>();

  constructor(private readonly load: (name: string) => Promise<KvEntry | null>) {}

  /** The record of subscription `name`; `fresh` reads it from the bucket even if a recent one is known. */
  async get(name: string, fresh = false): Promise<SubscriptionRecord> {
    const known = fresh ? undefined : this.known.get(name);
    if (known && Date.now() - known.readAt < RECORD_TTL_MS) return known.record;
    const entry = await this.load(name);
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) {
      this.known.delete(name);
      throw new SwitchboardError('not_found', `no subscription ${name}`);
    }
    const record = entry.json<SubscriptionRecord>();
    this.remember(name, record);
    return record;
  }

  /** Keeps a record this node just wrote. */
  remember(name: string, record: SubscriptionRecord): void {
    this.known.set(name, { record, readAt: Date.now() });
  }

  forget(name: string): void {
    this.known.delete(name);
  }
}
