import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, JetStreamApiError, type ConsumerConfig } from '@nats-io/jetstream';
import { SwitchboardError, unavailableError } from '../protocol/errors.js';
import type { SeekTarget } from './store.js';

/** Longest any NATS request may take before it fails with `unavailable`. */
export const OPERATION_TIMEOUT = 5000;
/** JetStream counts durations in nanoseconds. */
export const NANOS = 1_000_000;
/** Expiry of a pull request that only collects what is ready now. */
const IMMEDIATE_EXPIRY_MS = 20;

/** A prefix for stream and bucket names made of what JetStream accepts in them. */
export function safePrefix(prefix: string): string {
  return prefix.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '') || 'switchboard';
}

export function isNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === 404 || /not found/i.test(err.message));
}

/** What a JetStream ack subject says about one delivery. */
export interface AckSubject {
  stream: string;
  consumer: string;
  delivered: number;
  seq: number;
  timeNanos: number;
}

/** Fields of a JetStream ack subject (`$JS.ACK.[domain.hash.]stream.consumer.delivered.sseq.cseq.ts.pending`). */
export function parseAckSubject(subject: string): AckSubject | undefined {
  const tokens = subject.split('.');
  if (tokens.length === 9) tokens.splice(2, 0, '_', '');
  if (tokens.length < 11 || tokens[0] !== '$JS' || tokens[1] !== 'ACK') return undefined;
  const [delivered, seq, , time] = tokens.slice(6, 10).map(Number) as [number, number, number, number];
  // The timestamp (ns) is beyond 2^53; it is only needed to the millisecond.
  if (![delivered, seq].every(Number.isSafeInteger) || !Number.isFinite(time)) return undefined;
  return { stream: tokens[4]!, consumer: tokens[5]!, delivered, seq, timeNanos: time };
}

/**
 * One pull request, held by the server until `batch` messages came or `expiresMs` passed (0: what
 * is ready now). Resolves with the messages and whether the consumer is missing.
 */
export function pullRequest(
  nc: NatsConnection | undefined,
  stream: string,
  consumer: string,
  batch: number,
  expiresMs: number,
  noWait: boolean,
  signal?: AbortSignal,
): Promise<{ msgs: Msg[]; missing: boolean }> {
  if (!nc) return Promise.reject(unavailableError('nats', new Error('not connected')));
  return new Promise((resolve) => {
    const msgs: Msg[] = [];
    const inbox = createInbox();
    let settled = false;
    const finish = (missing: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sub.unsubscribe();
      resolve({ msgs, missing });
    };
    const onAbort = () => finish(false);
    const sub = nc.subscribe(inbox, {
      callback: (err, msg) => {
        if (err) return finish(false);
        const code = msg.headers?.code ?? 0;
        if (code === 0 && msg.data.length === 0 && msg.headers === undefined && msg.reply === undefined) return finish(false);
        if (code >= 400 || (msg.headers && !msg.reply)) return finish(code === 409 && /deleted/i.test(msg.headers?.description ?? ''));
        msgs.push(msg);
        if (msgs.length >= batch) finish(false);
      },
    });
    // The server does not answer a pull on a consumer that does not exist (deleted by a seek on
    // another node): no answer at all counts as a missing consumer.
    const timer = setTimeout(() => finish(msgs.length === 0), expiresMs + (expiresMs > 0 ? OPERATION_TIMEOUT : 1000));
    signal?.addEventListener('abort', onAbort, { once: true });
    // A `no_wait` request the consumer cannot fill because MaxAckPending is reached stays open on
    // the server and would take later messages into an inbox nobody reads any more: ordered
    // subscriptions (MaxAckPending 1) ask with a short expiry instead, which always ends.
    const body = expiresMs > 0 || !noWait ? { batch, expires: Math.max(expiresMs, IMMEDIATE_EXPIRY_MS) * NANOS } : { batch, no_wait: true };
    nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify(body), { reply: inbox });
  });
}

/** Where a consumer starts: a stream position or a time, or the first message. */
export function startPolicy(target: SeekTarget | undefined): Pick<ConsumerConfig, 'deliver_policy'> & Partial<Pick<ConsumerConfig, 'opt_start_time' | 'opt_start_seq'>> {
  if (!target) return { deliver_policy: DeliverPolicy.All };
  if ('time' in target) return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(Math.max(0, target.time)).toISOString() };
  const seq = Number(target.position);
  if (!Number.isSafeInteger(seq) || seq < 1) throw new SwitchboardError('bad_request', `not a position of this store: ${target.position}`);
  return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: seq };
}
