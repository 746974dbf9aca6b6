import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Backoff } from '../backends/backoff.js';
import { SwitchboardError, type ErrorCode } from '../protocol/errors.js';
import type { BridgeDefinition } from '../config/bridges.js';
import { MalformedRecord, decodeRecord, valueAtPath, type SourceRecord } from './records.js';

/** What a bridge delivers into: the node's channel publish path and its user messaging. */
export interface BridgeOutlet {
  /** Publishes to a channel (every subscriber on every node); rejects a bad channel name with bad_request. */
  publish(channel: string, data: unknown): Promise<void>;
  /** Sends to every session of a user on every node. */
  sendToUser(user: string, data: unknown): Promise<void>;
}

export type BridgeOutcome = 'delivered' | 'malformed' | 'failed';

export interface BridgeContext {
  outlet: BridgeOutlet;
  log: Logger;
  /** Counts a record's outcome: delivered, malformed (skipped) or failed (a delivery attempt that will be retried). */
  count(bridge: string, outcome: BridgeOutcome): void;
  maxRecordBytes: number;
  /** Longest wait between two delivery attempts of a record that could not be delivered. */
  retryBackoffMax: number;
}

/** Errors of the outlet that say the record itself is wrong (a bad channel name): retrying cannot help. */
const recordErrors = new Set<ErrorCode>(['bad_request', 'not_found', 'forbidden', 'too_large']);

const firstRetryDelay = 100;

/** One configured bridge: turns a source record into a channel publication or a message to a user. */
export class Bridge {
  /** CloudEvents binary-mode header prefix: `ce_` on Kafka, `ce-` on NATS and Redis. */
  private readonly headerPrefix: string;

  constructor(
    readonly definition: BridgeDefinition,
    private readonly context: BridgeContext,
  ) {
    this.headerPrefix = definition.source === 'kafka' ? 'ce_' : 'ce-';
  }

  get name(): string {
    return this.definition.name;
  }

  /**
   * Delivers a record, retrying with growing delays while delivery fails and `running()` holds.
   * Resolves once the record was delivered or skipped as malformed (counted and logged), so its
   * source may commit it; rejects only when the bridge stopped before it was delivered.
   * `beforeRetry` runs before each wait (a Kafka consumer heartbeats there).
   */
  async deliver(record: SourceRecord, where: string, running: () => boolean, beforeRetry: () => Promise<void> = async () => {}): Promise<void> {
    const backoff = new Backoff({ initial: firstRetryDelay, max: this.context.retryBackoffMax, jitter: 'none' });
    let delay = backoff.next();
    for (;;) {
      try {
        await this.deliverOnce(record);
        this.context.count(this.name, 'delivered');
        return;
      } catch (err) {
        if (err instanceof MalformedRecord) {
          this.context.count(this.name, 'malformed');
          this.context.log.warn({ event: 'bridge.malformed_record', bridge: this.name, where, reason: err.message }, 'malformed record skipped');
          return;
        }
        this.context.count(this.name, 'failed');
        this.context.log.warn({ event: 'bridge.delivery_failed', bridge: this.name, where, err: (err as Error).message, retryInMs: delay }, 'delivery failed; retrying');
      }
      if (!running()) throw new Error(`bridge ${this.name} stopped before ${where} was delivered`);
      await beforeRetry();
      await sleep(delay);
      if (!running()) throw new Error(`bridge ${this.name} stopped before ${where} was delivered`);
      delay = backoff.next();
    }
  }

  private async deliverOnce(record: SourceRecord): Promise<void> {
    const size = record.value?.length ?? 0;
    if (size > this.context.maxRecordBytes) throw new MalformedRecord(`the record has ${size} bytes, more than bridges.maxRecordBytes (${this.context.maxRecordBytes})`);
    const decoded = decodeRecord(record, this.headerPrefix);
    const target = this.targetOf(record, decoded.event);
    const data = this.definition.payload === 'data' ? decoded.data : decoded.event;
    try {
      if (this.definition.target.type === 'channel') await this.context.outlet.publish(target, data);
      else await this.context.outlet.sendToUser(target, data);
    } catch (err) {
      if (err instanceof SwitchboardError && recordErrors.has(err.code)) throw new MalformedRecord(err.message);
      throw err;
    }
  }

  private targetOf(record: SourceRecord, event: unknown): string {
    const { target } = this.definition;
    if (target.value !== undefined) return target.value;
    const raw = target.field !== undefined ? valueAtPath(event, target.field) : record.headers.get(target.header!.toLowerCase());
    const where = target.field !== undefined ? `field ${target.field}` : `header ${target.header}`;
    if (typeof raw === 'number' && Number.isFinite(raw)) return `${target.prefix}${raw}`;
    if (typeof raw !== 'string' || raw === '') throw new MalformedRecord(`the record has no ${target.type} in its ${where}`);
    return `${target.prefix}${raw}`;
  }
}
