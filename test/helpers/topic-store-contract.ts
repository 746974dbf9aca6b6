/**
 * The contract suite of the durable-topic stores, shared by the test files
 * test/integration/topics/topic-store-contract-<store>.test.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { KafkaTopicStore } from '../../src/topics/kafka-store.js';
import { MemoryTopicStore } from '../../src/topics/memory-store.js';
import { NatsTopicStore } from '../../src/topics/nats-store.js';
import { RedisTopicStore } from '../../src/topics/redis-store.js';
import type {
  AppendResult,
  ExhaustedMessage,
  ReceivedMessage,
  SubscriptionConfig,
  TopicConfig,
  TopicStore,
  TopicStoreListener,
  TopicStoreOptions,
} from '../../src/topics/store.js';
import { startKafkaMock, startNats, startRedis, type KafkaMockService, type Service } from './services.js';
import { requireTool, type Tool } from './tools.js';
import { waitUntil } from './wait.js';

/**
 * One backend the contract runs against. `create` may be called several times: every store it
 * returns shares the same backend, as the nodes of one cluster do.
 */
export interface StoreKind {
  name: string;
  /** The programs its backend needs. */
  tools: Tool[];
  setup(): Promise<void>;
  create(options: TopicStoreOptions): Promise<TopicStore>;
  teardown(): Promise<void>;
}

/** The four stores, by name; each test file runs the contract on one, so they run side by side. */
export const storeKinds: StoreKind[] = [
  {
    name: 'memory',
    tools: [],
    setup: async () => {},
    // Memory stores cannot share a backend between instances; the multi-instance tests reuse one.
    create: async (options) => new MemoryTopicStore(options),
    teardown: async () => {},
  },
  (() => {
    let redis: Service;
    const prefix = `sbt-${randomUUID().slice(0, 8)}`;
    return {
      name: 'redis',
      tools: ['redis-server'] as Tool[],
      setup: async () => {
        redis = await startRedis();
      },
      create: async (options: TopicStoreOptions) => new RedisTopicStore({ url: redis.url, prefix, cluster: false }, options),
      teardown: async () => redis.stop(),
    };
  })(),
  (() => {
    let nats: Service;
    const prefix = `sbt${randomUUID().slice(0, 8)}`;
    return {
      name: 'nats',
      tools: ['nats-server'] as Tool[],
      setup: async () => {
        nats = await startNats();
      },
      create: async (options: TopicStoreOptions) => new NatsTopicStore({ servers: nats.url, prefix, user: '', pass: '', token: '' }, options),
      teardown: async () => nats.stop(),
    };
  })(),
  (() => {
    let kafka: KafkaMockService;
    const prefix = `sbt${randomUUID().slice(0, 8)}`;
    return {
      name: 'kafka',
      tools: ['kcat'] as Tool[],
      setup: async () => {
        kafka = await startKafkaMock();
      },
      // The mock cluster grants no producer ids (idempotent off); a short session timeout lets a
      // stopped store's partitions move on quickly.
      create: async (options: TopicStoreOptions) =>
        new KafkaTopicStore(
          { brokers: kafka.brokers, clientId: 'contract', prefix, idempotent: false, sessionTimeout: 6000, replicationFactor: -1, maxBuffered: 10_000 },
          options,
          pino({ level: 'silent' }),
        ),
      teardown: async () => kafka.stop(),
    };
  })(),
];

const topicConfig: TopicConfig = { retentionMs: 0, retentionBytes: 0, partitions: 1 };
const options: TopicStoreOptions = { idempotencyWindowMs: 60_000 };

function subConfig(topic: string, overrides: Partial<SubscriptionConfig> = {}): SubscriptionConfig {
  return { topic, ackDeadlineMs: 10_000, maxDeliveryAttempts: 0, ordered: false, ...overrides };
}

let counter = 0;
const unique = (base: string) => `${base}_${process.pid}_${++counter}`;

/** The numbers received, in ascending order. */
const dataOf = (received: ReceivedMessage[]) => received.map((r) => r.message.data as number).sort((a, b) => a - b);

/** Pulls until `count` messages arrived or the time is up. */
async function pullAll(store: TopicStore, sub: string, count: number, timeoutMs = 5000): Promise<ReceivedMessage[]> {
  const got: ReceivedMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < count && Date.now() < deadline) {
    got.push(...(await store.pull(sub, { maxMessages: count - got.length, waitMs: Math.min(500, deadline - Date.now()) })));
  }
  return got;
}

/** The TopicStore contract (src/topics/store.ts) as tests, run against one store. */
export function runTopicStoreContract(name: string): void {
  const kind = storeKinds.find((k) => k.name === name)!;
  describe(`TopicStore contract: ${kind.name}`, { skip: requireTool(...kind.tools) }, () => {
    let store: TopicStore;
    const extra: TopicStore[] = [];

    before(async () => {
      await kind.setup();
      store = await kind.create(options);
      await store.start();
    });
    after(async () => {
      for (const s of extra) await s.close();
      await store?.close();
      await kind.teardown();
    });

    async function topicWithSub(overrides: Partial<SubscriptionConfig> = {}): Promise<{ topic: string; sub: string }> {
      const topic = unique('t');
      const sub = unique('s');
      await store.ensureTopic(topic, topicConfig);
      await store.ensureSubscription(sub, subConfig(topic, overrides));
      return { topic, sub };
    }

    it('appends messages in order and reads them back with ids, positions and publish times', async () => {
      const topic = unique('t');
      await store.ensureTopic(topic, topicConfig);
      const before = Date.now();
      const results = await store.append(topic, [{ data: { n: 1 }, attributes: { a: 'x' } }, { data: 'two' }, { data: [3], orderingKey: 'k' }]);
      assert.equal(results.length, 3);
      assert.equal(new Set(results.map((r) => r.id)).size, 3);
      assert.ok(results.every((r) => !r.duplicate));
      const read = await store.read(topic, { limit: 10 });
      assert.deepEqual(
        read.map((m) => m.data),
        [{ n: 1 }, 'two', [3]],
      );
      assert.deepEqual(
        read.map((m) => m.id),
        results.map((r) => r.id),
      );
      assert.deepEqual(
        read.map((m) => m.position),
        results.map((r) => r.position),
      );
      assert.deepEqual(read[0]!.attributes, { a: 'x' });
      assert.equal(read[2]!.orderingKey, 'k');
      assert.ok(read.every((m) => m.publishTime >= before - 5 && m.publishTime <= Date.now() + 5));
      const fromSecond = await store.read(topic, { from: { position: results[1]!.position }, limit: 10 });
      assert.deepEqual(
        fromSecond.map((m) => m.data),
        ['two', [3]],
      );
    });

    it('delivers to a subscription only what was published after it was created, once, until acknowledged', async () => {
      const topic = unique('t');
      await store.ensureTopic(topic, topicConfig);
      await store.append(topic, [{ data: 'old' }]);
      const sub = unique('s');
      await store.ensureSubscription(sub, subConfig(topic));
      await store.append(topic, [{ data: 'a' }, { data: 'b' }]);
      const got = await pullAll(store, sub, 2);
      assert.deepEqual(
        got.map((r) => r.message.data),
        ['a', 'b'],
      );
      assert.ok(got.every((r) => r.attempt === 1));
      assert.deepEqual(
        await store.ack(
          sub,
          got.map((r) => r.ackId),
        ),
        ['ok', 'ok'],
      );
      assert.deepEqual(await store.pull(sub, { maxMessages: 10, waitMs: 300 }), []);
    });

    it('answers a long pull as soon as a message is published during the wait', async () => {
      const { topic, sub } = await topicWithSub();
      const pulled = store.pull(sub, { maxMessages: 5, waitMs: 5000 });
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      await store.append(topic, [{ data: 'late' }]);
      const got = await pulled;
      assert.deepEqual(
        got.map((r) => r.message.data),
        ['late'],
      );
      assert.ok(Date.now() - started < 4000, 'the pull returned before its wait ran out');
    });

    it('returns an aborted long pull at once', async () => {
      const { sub } = await topicWithSub();
      const abort = new AbortController();
      const pulled = store.pull(sub, { maxMessages: 5, waitMs: 10_000, signal: abort.signal });
      setTimeout(() => abort.abort(), 50);
      const started = Date.now();
      assert.deepEqual(await pulled, []);
      assert.ok(Date.now() - started < 5000);
    });

    it('redelivers an unacknowledged message after the ack deadline with the next attempt number', async () => {
      const { topic, sub } = await topicWithSub({ ackDeadlineMs: 400 });
      await store.append(topic, [{ data: 'x' }]);
      const [first] = await pullAll(store, sub, 1);
      assert.equal(first!.attempt, 1);
      assert.deepEqual(await store.pull(sub, { maxMessages: 1, waitMs: 0 }), [], 'not redelivered before the deadline');
      const [second] = await pullAll(store, sub, 1);
      assert.equal(second!.message.id, first!.message.id);
      assert.equal(second!.attempt, 2);
      const stale = await store.ack(sub, [first!.ackId]);
      assert.ok(stale[0] === 'expired' || stale[0] === 'ok', `a stale ack id is expired (or acknowledges): ${stale[0]}`);
      assert.deepEqual(await store.ack(sub, [second!.ackId]), ['ok']);
      assert.deepEqual(await store.pull(sub, { maxMessages: 1, waitMs: 700 }), []);
    });

    it('answers unknown for ack ids it never handed out', async () => {
      const { topic, sub } = await topicWithSub();
      const other = await topicWithSub();
      await store.append(topic, [{ data: 'x' }]);
      const [got] = await pullAll(store, sub, 1);
      assert.deepEqual(await store.ack(sub, ['nonsense', '']), ['unknown', 'unknown']);
      assert.deepEqual(await store.ack(other.sub, [got!.ackId]), ['unknown']);
      assert.deepEqual(await store.nack(sub, ['garbage'], 0), ['unknown']);
      assert.deepEqual(await store.extend(sub, ['garbage'], 1000), ['unknown']);
      assert.deepEqual(await store.ack(sub, [got!.ackId]), ['ok']);
    });

    it('redelivers a nacked message no earlier than its delay, keeping the attempt count', async () => {
      const { topic, sub } = await topicWithSub({ ackDeadlineMs: 10_000 });
      await store.append(topic, [{ data: 'x' }]);
      const [first] = await pullAll(store, sub, 1);
      const nackedAt = Date.now();
      assert.deepEqual(await store.nack(sub, [first!.ackId], 600), ['ok']);
      const [second] = await pullAll(store, sub, 1);
      assert.ok(Date.now() - nackedAt >= 590, 'not before the delay');
      assert.equal(second!.attempt, 2);
      await store.ack(sub, [second!.ackId]);
    });

    it('redelivers a message nacked without delay at once', async () => {
      const { topic, sub } = await topicWithSub({ ackDeadlineMs: 30_000 });
      await store.append(topic, [{ data: 'x' }]);
      const [first] = await pullAll(store, sub, 1);
      await store.nack(sub, [first!.ackId], 0);
      const [second] = await pullAll(store, sub, 1, 3000);
      assert.equal(second?.message.id, first!.message.id);
      await store.ack(sub, [second!.ackId]);
    });

    it('does not redeliver a message whose deadline was extended', async () => {
      const { topic, sub } = await topicWithSub({ ackDeadlineMs: 500 });
      await store.append(topic, [{ data: 'x' }]);
      const [first] = await pullAll(store, sub, 1);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(await store.extend(sub, [first!.ackId], 500), ['ok']);
      await new Promise((r) => setTimeout(r, 350));
      assert.deepEqual(await store.pull(sub, { maxMessages: 1, waitMs: 0 }), [], 'still within the extended deadline');
      assert.deepEqual(await store.ack(sub, [first!.ackId]), ['ok']);
    });

    /** A second store on the same backend, started with `listener`, holding a topic and a subscription with two attempts. */
    async function listenedSub(listener: TopicStoreListener, ackDeadlineMs: number): Promise<{ listened: TopicStore; topic: string; sub: string; dlq: string }> {
      const listened = await kind.create(options);
      extra.push(listened);
      await listened.start(listener);
      const dlq = unique('dlq');
      const topic = unique('t');
      const sub = unique('s');
      await listened.ensureTopic(topic, topicConfig);
      await listened.ensureSubscription(sub, subConfig(topic, { maxDeliveryAttempts: 2, deadLetterTopic: dlq, ackDeadlineMs }));
      return { listened, topic, sub, dlq };
    }

    /** Delivers the subscription's one message twice, giving it back each time: it has run out of attempts. */
    async function useUpAttempts(listened: TopicStore, sub: string): Promise<void> {
      for (const attempt of [1, 2]) {
        const [got] = await pullAll(listened, sub, 1);
        assert.equal(got!.attempt, attempt);
        await listened.nack(sub, [got!.ackId], 0);
      }
    }

    it('hands a message that ran out of attempts to its owner once, with the dead-letter topic, and then forgets it', async () => {
      const handed: ExhaustedMessage[] = [];
      const { listened, topic, sub, dlq } = await listenedSub({ exhausted: async (e) => void handed.push(e) }, 5000);
      const [{ id }] = (await listened.append(topic, [{ data: 'poison', attributes: { k: 'v' } }])) as [AppendResult];
      await useUpAttempts(listened, sub);
      assert.deepEqual(await listened.pull(sub, { maxMessages: 1, waitMs: 500 }), []);
      await waitUntil(async () => handed.length === 1, 5000, 'the hand-over');
      const [e] = handed;
      assert.deepEqual(
        { subscription: e!.subscription, topic: e!.topic, deadLetterTopic: e!.deadLetterTopic, attempts: e!.attempts },
        { subscription: sub, topic, deadLetterTopic: dlq, attempts: 2 },
      );
      assert.equal(e!.message.id, id);
      assert.equal(e!.message.data, 'poison');
      assert.deepEqual(e!.message.attributes, { k: 'v' });
      await waitUntil(async () => (await listened.subscriptionStats(sub)).unacked === 0, 5000, 'the message gone from the subscription');
      assert.deepEqual(await listened.pull(sub, { maxMessages: 1, waitMs: 300 }), []);
      assert.equal(handed.length, 1);
    });

    it('keeps a message whose hand-over failed and hands it over again after the ack deadline', async () => {
      let calls = 0;
      const exhausted = async () => {
        calls++;
        if (calls === 1) throw new Error('the dead-letter topic cannot be written');
      };
      const { listened, topic, sub } = await listenedSub({ exhausted }, 1000);
      await listened.append(topic, [{ data: 'poison' }]);
      await useUpAttempts(listened, sub);
      const delivered: ReceivedMessage[] = [];
      const deadline = Date.now() + 10_000;
      while (calls < 2 && Date.now() < deadline) {
        delivered.push(...(await listened.pull(sub, { maxMessages: 1, waitMs: 300 }).catch(() => [])));
      }
      assert.equal(calls, 2, 'handed over again');
      assert.deepEqual(delivered, [], 'never delivered a third time');
      await waitUntil(async () => (await listened.subscriptionStats(sub)).unacked === 0, 5000, 'the message gone once handed over');
    });

    it('never delivers a delayed message before its delivery time', async () => {
      const { topic, sub } = await topicWithSub();
      const deliverAt = Date.now() + 800;
      await store.append(topic, [{ data: 'later', deliverAt }, { data: 'now' }]);
      const [now] = await pullAll(store, sub, 1);
      assert.equal(now!.message.data, 'now');
      await store.ack(sub, [now!.ackId]);
      const [later] = await pullAll(store, sub, 1, 5000);
      assert.ok(Date.now() >= deliverAt, 'not delivered early');
      assert.equal(later!.message.data, 'later');
      assert.equal(later!.message.deliverAt, deliverAt);
      assert.equal(later!.attempt, 1);
      await store.ack(sub, [later!.ackId]);
    });

    it('stores a batch that repeats an idempotency key, with the repeat answered as a duplicate of the first', async () => {
      const { topic, sub } = await topicWithSub();
      const results = await store.append(topic, [{ data: 'b1', idempotencyKey: 'k' }, { data: 'other' }, { data: 'b2', idempotencyKey: 'k' }]);
      assert.deepEqual(
        results.map((r) => r.duplicate),
        [false, false, true],
      );
      assert.equal(results[2]!.id, results[0]!.id);
      assert.equal(results[2]!.position, results[0]!.position);
      const got = await pullAll(store, sub, 2);
      assert.deepEqual(got.map((r) => r.message.data).sort(), ['b1', 'other']);
      const [later] = await store.append(topic, [{ data: 'b3', idempotencyKey: 'k' }]);
      assert.deepEqual(later, { ...results[0], duplicate: true }, 'the key stays usable: a later publish is a duplicate too');
    });

    it('accepts a repeated idempotency key once within the window', async () => {
      const { topic, sub } = await topicWithSub();
      const [a] = await store.append(topic, [{ data: 1, idempotencyKey: 'order-7' }]);
      const [b, c] = await store.append(topic, [
        { data: 2, idempotencyKey: 'order-7' },
        { data: 3, idempotencyKey: 'order-8' },
      ]);
      assert.equal(a!.duplicate, false);
      assert.equal(b!.duplicate, true);
      assert.equal(b!.id, a!.id);
      assert.equal(c!.duplicate, false);
      const got = await pullAll(store, sub, 2);
      assert.deepEqual(
        got.map((r) => r.message.data),
        [1, 3],
      );
      assert.deepEqual(await store.pull(sub, { maxMessages: 5, waitMs: 300 }), []);
    });

    it('keeps publish order per ordering key on an ordered subscription, redeliveries first', async () => {
      const { topic, sub } = await topicWithSub({ ordered: true, ackDeadlineMs: 10_000 });
      await store.append(topic, [
        { data: 'a1', orderingKey: 'a' },
        { data: 'a2', orderingKey: 'a' },
        { data: 'a3', orderingKey: 'a' },
      ]);
      const seen: string[] = [];
      const deadline = Date.now() + 8000;
      let nacked = false;
      while (seen.filter((s) => s.startsWith('ack')).length < 3 && Date.now() < deadline) {
        const got = await store.pull(sub, { maxMessages: 10, waitMs: 300 });
        for (const r of got) {
          const data = r.message.data as string;
          if (data === 'a2' && !nacked) {
            nacked = true;
            seen.push(`nack ${data}`);
            await store.nack(sub, [r.ackId], 0);
            continue;
          }
          seen.push(`ack ${data}`);
          await store.ack(sub, [r.ackId]);
        }
      }
      assert.deepEqual(seen, ['ack a1', 'nack a2', 'ack a2', 'ack a3']);
    });

    it('replays from a position or a time after a seek', async () => {
      const { topic, sub } = await topicWithSub();
      const results = await store.append(topic, [{ data: 1 }, { data: 2 }]);
      await new Promise((r) => setTimeout(r, 20));
      const between = Date.now();
      await new Promise((r) => setTimeout(r, 20));
      await store.append(topic, [{ data: 3 }]);
      const first = await pullAll(store, sub, 3);
      await store.ack(
        sub,
        first.map((r) => r.ackId),
      );
      await store.seek(sub, { position: results[1]!.position });
      const replay = await pullAll(store, sub, 2);
      // Stores with several partitions (Kafka) keep order per partition only; the order of the log is tested above.
      assert.deepEqual(dataOf(replay), [2, 3]);
      await store.ack(
        sub,
        replay.map((r) => r.ackId),
      );
      await store.seek(sub, { time: between });
      const fromTime = await pullAll(store, sub, 1);
      assert.deepEqual(dataOf(fromTime), [3]);
      await store.ack(
        sub,
        fromTime.map((r) => r.ackId),
      );
      await store.seek(sub, { time: 0 });
      const everything = await pullAll(store, sub, 3);
      assert.deepEqual(dataOf(everything), [1, 2, 3]);
      await store.ack(
        sub,
        everything.map((r) => r.ackId),
      );
      assert.deepEqual(await store.pull(sub, { maxMessages: 5, waitMs: 300 }), []);
    });

    it('reports the backlog: unacknowledged count and the age of the oldest', async () => {
      const { topic, sub } = await topicWithSub();
      assert.deepEqual(await store.subscriptionStats(sub), { unacked: 0, oldestUnackedAgeMs: 0 });
      await store.append(topic, [{ data: 1 }, { data: 2 }, { data: 3 }]);
      await new Promise((r) => setTimeout(r, 50));
      const stats = await store.subscriptionStats(sub);
      assert.equal(stats.unacked, 3);
      assert.ok(stats.oldestUnackedAgeMs >= 40, `oldest age ${stats.oldestUnackedAgeMs}`);
      const got = await pullAll(store, sub, 3);
      await store.ack(sub, [got[0]!.ackId]);
      assert.equal((await store.subscriptionStats(sub)).unacked, 2);
      await store.ack(
        sub,
        got.slice(1).map((r) => r.ackId),
      );
      assert.deepEqual(await store.subscriptionStats(sub), { unacked: 0, oldestUnackedAgeMs: 0 });
      const topicStats = await store.topicStats(topic);
      assert.equal(topicStats.messages, 3);
      assert.ok(topicStats.bytes > 0);
    });

    it('drops messages older than the topic retention time', async () => {
      const topic = unique('t');
      await store.ensureTopic(topic, { ...topicConfig, retentionMs: 1000 });
      await store.append(topic, [{ data: 'short-lived' }]);
      assert.equal((await store.read(topic, { limit: 10 })).length, 1);
      await waitUntil(async () => (await store.read(topic, { limit: 10 })).length === 0, 8000, 'retention to remove the message');
    });

    it('hands each message to one of several concurrent consumers per delivery', async () => {
      const { topic, sub } = await topicWithSub({ ackDeadlineMs: 20_000 });
      const other = kind.name === 'memory' ? store : await kind.create(options);
      if (other !== store) {
        extra.push(other);
        await other.start();
      }
      await store.append(
        topic,
        Array.from({ length: 40 }, (_, i) => ({ data: i })),
      );
      // Both pull until the two together have everything (Kafka first rebalances the group for the newcomer).
      const got: ReceivedMessage[] = [];
      const deadline = Date.now() + 20_000;
      await Promise.all(
        [store, other].map(async (consumer) => {
          while (got.length < 40 && Date.now() < deadline) got.push(...(await consumer.pull(sub, { maxMessages: 40, waitMs: 500 })));
        }),
      );
      assert.deepEqual(
        dataOf(got),
        Array.from({ length: 40 }, (_, i) => i),
      );
    });

    it('keeps metadata records by kind and id, writing once with ifAbsent', async () => {
      const id = unique('app');
      assert.equal(await store.metadata.get('application', id), undefined);
      assert.equal(await store.metadata.put('application', id, { id, n: 1 }, { ifAbsent: true }), true);
      assert.equal(await store.metadata.put('application', id, { id, n: 2 }, { ifAbsent: true }), false);
      assert.deepEqual(await store.metadata.get('application', id), { id, n: 1 });
      assert.equal(await store.metadata.put('application', id, { id, n: 3 }), true);
      assert.ok((await store.metadata.list<{ id: string }>('application')).some((r) => r.id === id));
      assert.equal(await store.metadata.delete('application', id), true);
      assert.equal(await store.metadata.delete('application', id), false);
      assert.equal(await store.metadata.get('application', id), undefined);
    });

    it('forgets a deleted subscription and a deleted topic', async () => {
      const { topic, sub } = await topicWithSub();
      await store.append(topic, [{ data: 1 }]);
      await store.deleteSubscription(sub);
      await assert.rejects(store.pull(sub, { maxMessages: 1, waitMs: 0 }), { code: 'not_found' });
      await store.deleteTopic(topic);
      await assert.rejects(store.append(topic, [{ data: 2 }]), { code: 'not_found' });
    });
  });
}
