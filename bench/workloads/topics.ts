import { Pool } from 'undici';
import { closedLoop } from '../lib/closed-loop.js';
import { Histogram, clockMs } from '../lib/histogram.js';
import { round } from '../lib/loadgen.js';
import { ServerProcess } from '../lib/servers.js';
import { startKafkaMock } from '../../test/helpers/services.js';
import { startBroker, type Broker } from './cluster-fanout.js';
import { type Context, type Result } from './context.js';

export const topicStores = ['memory', 'redis', 'nats', 'kafka'] as const;
export type TopicStoreName = (typeof topicStores)[number];

/** Publish requests in flight at once. */
const CONCURRENCY = 64;
/** Messages per batched publish request. */
const BATCH = 500;
/** A message of about the size of an order event. */
const payload = { type: 'order.created', order: 'o-12345', amount: 4200, currency: 'EUR' };

async function call(pool: Pool, method: 'POST' | 'GET', path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await pool.request({ path, method, headers: { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
}

/**
 * Durable topics on one node, per store: publishes/s with one message per request and with
 * batches of BATCH (CONCURRENCY requests in flight, each answered after the store confirmed the
 * write), then publish-to-pull latency p50/p99 at a moderate rate with one long-polling puller.
 */
export async function topics(ctx: Context, store: TopicStoreName): Promise<Result> {
  const durationMs = ctx.settings.quick ? 2000 : 5000;
  let broker: Broker | undefined;
  let server: ServerProcess | undefined;
  let pool: Pool | undefined;
  try {
    if (store === 'redis' || store === 'nats') broker = await startBroker(store);
    if (store === 'kafka') {
      // librdkafka's mock cluster (Debian's kcat), which grants no idempotent producer ids.
      const kafka = await startKafkaMock();
      broker = { flags: ['--topics.kafka.brokers', kafka.url, '--topics.kafka.idempotent', 'false'], stop: kafka.stop };
    }
    server = await ServerProcess.start('switchboard', {
      label: `topics-${store}`,
      profileDir: ctx.settings.profileDir,
      args: [
        ...(broker?.flags ?? []),
        '--topics.store',
        store,
        '--topics.quotas.messagesPerSecond',
        '100000000',
        '--topics.quotas.bytesPerSecond',
        '100000000000',
        '--topics.maxBatchSize',
        String(BATCH),
      ],
    });
    pool = new Pool(`http://127.0.0.1:${server.port}`, { connections: CONCURRENCY });
    const p = pool;
    await call(p, 'POST', '/api/topics/applications', { id: 'bench' });
    for (const name of ['single', 'batched', 'latency']) {
      const created = await call(p, 'POST', '/api/topics/bench/topics', { name, retentionMs: 120_000 });
      if (created.status !== 201) throw new Error(`creating topic ${name}: ${JSON.stringify(created.json)}`);
    }
    const publish = async (topic: string, body: unknown, count: number) => {
      const res = await call(p, 'POST', `/api/topics/bench/topics/${topic}/publish`, body);
      return res.status === 200 ? count : 0;
    };

    ctx.log(`topics (${store}): single publishes, ${CONCURRENCY} in flight, ${durationMs} ms`);
    await closedLoop(300, CONCURRENCY, () => publish('single', { data: payload }, 1));
    const single = await closedLoop(durationMs, CONCURRENCY, () => publish('single', { data: payload }, 1));

    ctx.log(`topics (${store}): batches of ${BATCH}, ${durationMs} ms`);
    const batch = { messages: Array.from({ length: BATCH }, () => ({ data: payload })) };
    const batchLoops = Math.max(2, Math.floor(CONCURRENCY / 8));
    await closedLoop(300, batchLoops, () => publish('batched', batch, BATCH));
    const batched = await closedLoop(durationMs, batchLoops, () => publish('batched', batch, BATCH));

    ctx.log(`topics (${store}): publish-to-pull latency`);
    await call(p, 'POST', '/api/topics/bench/subscriptions', { name: 'reader', topic: 'latency', ackDeadlineMs: 30_000 });
    // The first message waits for the subscription to be ready (Kafka: its consumer group to form); it is not measured.
    await publish('latency', { data: { sentAt: 0 } }, 1);
    let ready = false;
    for (let tries = 0; !ready && tries < 30; tries++) {
      const res = await call(p, 'POST', '/api/topics/bench/subscriptions/reader/pull', { maxMessages: 10, waitMs: 1000 });
      const messages = (res.json?.messages ?? []) as { ackId: string }[];
      ready = messages.length > 0;
      if (ready) await call(p, 'POST', '/api/topics/bench/subscriptions/reader/ack', { ackIds: messages.map((m) => m.ackId) });
    }
    if (!ready) throw new Error('the subscription delivered nothing within 30 s');
    const histogram = new Histogram();
    let running = true;
    const puller = (async () => {
      while (running) {
        const res = await call(p, 'POST', '/api/topics/bench/subscriptions/reader/pull', { maxMessages: 100, waitMs: 500 });
        const messages = (res.json?.messages ?? []) as { ackId: string; message: { data: { sentAt: number } } }[];
        const now = clockMs();
        for (const m of messages) histogram.record(now - m.message.data.sentAt);
        if (messages.length > 0) await call(p, 'POST', '/api/topics/bench/subscriptions/reader/ack', { ackIds: messages.map((m) => m.ackId) });
      }
    })();
    const rate = 200;
    const end = clockMs() + durationMs;
    for (let i = 0; clockMs() < end; i++) {
      void publish('latency', { data: { sentAt: clockMs() } }, 1);
      await new Promise((r) => setTimeout(r, 1000 / rate));
    }
    await new Promise((r) => setTimeout(r, 1000));
    running = false;
    await puller;
    const usage = await server.usage();
    return {
      workload: 'topics',
      server: 'switchboard',
      store,
      singlePerSecond: single.perSecond,
      singleErrors: single.errors,
      batchedPerSecond: batched.perSecond,
      batchedErrors: batched.errors,
      batchSize: BATCH,
      latencyMessages: histogram.count,
      publishToPullP50Ms: histogram.percentile(50),
      publishToPullP99Ms: histogram.percentile(99),
      serverRssMb: round(usage.rss / 1048576, 1),
    };
  } finally {
    await pool?.close();
    await server?.stop();
    await broker?.stop();
  }
}

/** The topics lines of the report: per store, publishes/s single and batched, and latency. */
export function topicsTable(results: Result[]): string {
  const rows = results.filter((r) => r.workload === 'topics');
  if (rows.length === 0) return '';
  const lines = [`topics (one node)   single msg/s   batched msg/s (x${BATCH})   publish->pull p50 / p99 ms`];
  for (const r of rows) {
    if (r.error) lines.push(`${String(r.store).padEnd(20)}not measured (${String(r.error)})`);
    else
      lines.push(
        `${String(r.store).padEnd(20)}${String(r.singlePerSecond).padStart(12)}   ${String(r.batchedPerSecond).padStart(22)}   ${r.publishToPullP50Ms} / ${r.publishToPullP99Ms}`,
      );
  }
  return lines.join('\n');
}
