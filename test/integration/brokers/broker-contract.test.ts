import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { continuesFrom, type Broker, type ControlMessage, type Publication } from '../../../src/brokers/broker.js';
import { IpcBroker, IpcBrokerHost, type IpcEndpoint } from '../../../src/brokers/ipc.js';
import { MemoryBroker, MemoryBus } from '../../../src/brokers/memory.js';
import { NatsBroker } from '../../../src/brokers/nats/broker.js';
import { RedisBroker } from '../../../src/brokers/redis/broker.js';
import { SwitchboardError } from '../../../src/protocol/errors.js';
import { freePort, startNats, startRedis, startRedisCluster, type RedisClusterService, type Service } from '../../helpers/services.js';
import { waitUntil } from '../../helpers/wait.js';
import { requireTool, type Tool } from '../../helpers/tools.js';

/** Makes brokers that share one backing store (one cluster), each standing for one node. */
interface BrokerKind {
  name: string;
  setup(): Promise<void>;
  create(): Promise<Broker>;
  teardown(): Promise<void>;
  /** The server behind the brokers, for kinds that have one the test can kill and start again. */
  service?(): Service;
  /** Whether the server keeps its data when it is killed and started again (as a deployment's would). */
  durable?: boolean;
  /** Connects a broker of this kind to a loopback port where nothing listens. */
  connectUnreachable?(port: number): Promise<Broker>;
  /** The programs its server needs. */
  tools?: Tool[];
  /** For a sharded server (a Redis Cluster): its nodes, each the only master of its shard. */
  shards?(): RedisClusterService;
}

/** Asks one node of a Redis Cluster directly, not through a cluster client. */
async function onNode<T>(node: Service, query: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(node.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await query(redis);
  } finally {
    redis.disconnect();
  }
}

/**
 * One channel name per shard, by the shard's index in `cluster.nodes`: the broker keeps a
 * channel's keys and shard channel under the hash tag `{channel}`, so the slot of `{channel}` is
 * the channel's slot.
 */
async function channelPerShard(cluster: RedisClusterService, base: string): Promise<string[]> {
  const ports = cluster.nodes.map((node) => node.port);
  return onNode(cluster.nodes[0]!, async (redis) => {
    const ranges = await redis.cluster('SLOTS');
    const byShard = new Map<number, string>();
    for (let i = 0; byShard.size < ports.length && i < 1000; i++) {
      const channel = `${base}-${i}`;
      const slot = await redis.cluster('KEYSLOT', `{${channel}}`);
      const owner = ranges.find(([start, end]) => slot >= start && slot <= end)?.[2]?.[1];
      const shard = ports.indexOf(owner ?? -1);
      if (shard >= 0 && !byShard.has(shard)) byShard.set(shard, channel);
    }
    return ports.map((_, shard) => byShard.get(shard)!);
  });
}

/**
 * Two connected ends of a channel that behaves as a cluster worker's IPC channel does: messages
 * arrive in order, on a later turn, as copies made through JSON; `disconnect` closes it as the
 * death of the other process would.
 */
function endpointPair(): { worker: IpcEndpoint; primary: IpcEndpoint; disconnect(): void } {
  const make = () => ({ handlers: [] as ((message: unknown) => void)[], gone: [] as (() => void)[], peer: undefined as unknown as { handlers: ((message: unknown) => void)[] } });
  const [x, y] = [make(), make()];
  x.peer = y;
  y.peer = x;
  let connected = true;
  const endpoint = (side: typeof x): IpcEndpoint => ({
    send: (message) => {
      if (!connected) throw new Error('channel closed');
      const copy = JSON.stringify(message);
      setImmediate(() => {
        for (const handler of side.peer.handlers) handler(JSON.parse(copy));
      });
    },
    onMessage: (handler) => void side.handlers.push(handler),
    onDisconnect: (handler) => void side.gone.push(handler),
  });
  return {
    worker: endpoint(x),
    primary: endpoint(y),
    disconnect: () => {
      connected = false;
      for (const handler of [...x.gone, ...y.gone]) handler();
    },
  };
}

const kinds: BrokerKind[] = [
  (() => {
    let bus: MemoryBus;
    return {
      name: 'memory',
      setup: async () => {
        bus = new MemoryBus();
      },
      create: async () => new MemoryBroker(bus),
      teardown: async () => {},
    };
  })(),
  (() => {
    let host: IpcBrokerHost;
    return {
      name: 'ipc (workers reaching the memory broker of their primary)',
      setup: async () => {
        host = new IpcBrokerHost();
      },
      create: async () => {
        const channel = endpointPair();
        host.attach(channel.primary);
        const broker = new IpcBroker(channel.worker);
        await broker.connect();
        return broker;
      },
      teardown: async () => {},
      // The primary process is gone: its channel closed.
      connectUnreachable: async () => {
        const channel = endpointPair();
        host.attach(channel.primary);
        const broker = new IpcBroker(channel.worker);
        channel.disconnect();
        await broker.connect();
        return broker;
      },
    };
  })(),
  (() => {
    let redis: Service;
    return {
      name: 'redis',
      tools: ['redis-server'],
      setup: async () => {
        redis = await startRedis();
      },
      create: async () => {
        const broker = new RedisBroker({ url: redis.url, prefix: 'contract:' });
        await broker.connect();
        return broker;
      },
      teardown: async () => redis.stop(),
      service: () => redis,
      connectUnreachable: async (port) => {
        const broker = new RedisBroker({ url: `redis://127.0.0.1:${port}`, prefix: 'contract:' });
        await broker.connect();
        return broker;
      },
    };
  })(),
  (() => {
    let cluster: RedisClusterService;
    return {
      name: 'redis-cluster',
      tools: ['redis-server', 'redis-cli'],
      setup: async () => {
        cluster = await startRedisCluster();
      },
      create: async () => {
        const broker = new RedisBroker({ url: cluster.url, prefix: 'contract:', cluster: true });
        await broker.connect();
        return broker;
      },
      teardown: async () => cluster.stop(),
      // Killing it kills every node: the whole Cluster is down, then comes back empty.
      service: () => cluster,
      shards: () => cluster,
      connectUnreachable: async (port) => {
        const broker = new RedisBroker({ url: `redis://127.0.0.1:${port}`, prefix: 'contract:', cluster: true });
        await broker.connect();
        return broker;
      },
    };
  })(),
  (() => {
    let nats: Service;
    return {
      name: 'nats',
      tools: ['nats-server'],
      setup: async () => {
        nats = await startNats();
      },
      create: async () => {
        const broker = new NatsBroker({ servers: nats.url, prefix: 'contract' });
        await broker.connect();
        return broker;
      },
      teardown: async () => nats.stop(),
      service: () => nats,
      // The JetStream store directory outlives the process.
      durable: true,
      connectUnreachable: async (port) => {
        const broker = new NatsBroker({ servers: `nats://127.0.0.1:${port}`, prefix: 'contract' });
        await broker.connect();
        return broker;
      },
    };
  })(),
];

const isUnavailable = (err: unknown) => err instanceof SwitchboardError && err.code === 'unavailable';

const pub = (channel: string, data: unknown): Publication => ({ channel, data, time: Date.now() });
const history = { size: 10, ttl: 0 };

for (const kind of kinds) {
  describe(`the ${kind.name} broker`, { skip: requireTool(...(kind.tools ?? [])) }, () => {
    const brokers: Broker[] = [];
    /** Two brokers on one backing store, like two nodes. */
    let a: Broker;
    let b: Broker;
    const received: Publication[] = [];
    const controls: ControlMessage[][] = [[], []];

    before(async () => {
      await kind.setup();
      a = await kind.create();
      b = await kind.create();
      brokers.push(a, b);
      b.onPublication((p) => received.push(p));
      a.control.onMessage((m) => controls[0]!.push(m));
      b.control.onMessage((m) => controls[1]!.push(m));
    });
    after(async () => {
      for (const broker of brokers) await broker.close();
      await kind.teardown();
    });

    it('delivers a publication to another node subscribed to the channel, in publication order', async () => {
      await b.subscribe('orders');
      for (let i = 0; i < 100; i++) await a.publish(pub('orders', { i }));
      await waitUntil(() => received.filter((p) => p.channel === 'orders').length === 100, 5000, '100 publications');
      assert.deepEqual(
        received.filter((p) => p.channel === 'orders').map((p) => (p.data as { i: number }).i),
        Array.from({ length: 100 }, (_, i) => i),
      );
    });

    it('stops delivering a channel after unsubscribe', async () => {
      await b.subscribe('brief');
      await a.publish(pub('brief', 1));
      await waitUntil(() => received.some((p) => p.channel === 'brief'), 5000, 'first publication');
      await b.unsubscribe('brief');
      await a.publish(pub('brief', 2));
      await a.publish(pub('orders', 'marker'));
      await waitUntil(() => received.some((p) => p.data === 'marker'), 5000, 'marker');
      assert.deepEqual(
        received.filter((p) => p.channel === 'brief').map((p) => p.data),
        [1],
      );
    });

    it('numbers publications of a channel with history and delivers their positions live', async () => {
      await b.subscribe('hist');
      const first = await a.publish(pub('hist', 'x'), { history });
      const second = await a.publish(pub('hist', 'y'), { history });
      assert.equal(second!.offset, first!.offset + 1);
      assert.equal(second!.epoch, first!.epoch);
      await waitUntil(() => received.filter((p) => p.channel === 'hist').length === 2, 5000, 'two live');
      const live = received.filter((p) => p.channel === 'hist');
      assert.deepEqual(
        live.map((p) => [p.offset, p.epoch]),
        [
          [first!.offset, first!.epoch],
          [second!.offset, second!.epoch],
        ],
      );
    });

    it('keeps historySize publications and answers after a position, limited, newest first', async () => {
      for (let i = 1; i <= 25; i++) await a.publish(pub('window', i), { history });
      const all = await b.history('window', {});
      assert.deepEqual(
        all.publications.map((p) => p.data),
        [16, 17, 18, 19, 20, 21, 22, 23, 24, 25],
      );
      assert.equal(all.position.offset, 25);
      const after20 = await b.history('window', { since: { offset: 20, epoch: all.position.epoch } });
      assert.deepEqual(
        after20.publications.map((p) => p.offset),
        [21, 22, 23, 24, 25],
      );
      const limited = await b.history('window', { since: { offset: 20, epoch: all.position.epoch }, limit: 2 });
      assert.deepEqual(
        limited.publications.map((p) => p.offset),
        [21, 22],
      );
      const newest = await b.history('window', { reverse: true, limit: 3 });
      assert.deepEqual(
        newest.publications.map((p) => p.offset),
        [25, 24, 23],
      );
      const none = await b.history('window', { limit: 0 });
      assert.deepEqual(none, { publications: [], position: all.position });
      const otherEpoch = await b.history('window', { since: { offset: 20, epoch: 'other' } });
      assert.equal(otherEpoch.publications.length, 10);
    });

    it('answers a channel without a stream with offset 0 and an empty epoch', async () => {
      assert.deepEqual(await b.history('never-published', {}), { publications: [], position: { offset: 0, epoch: '' } });
    });

    it('forgets a stream ttl after its last publication, so the next one starts a new epoch', async () => {
      const old = await a.publish(pub('short', 1), { history: { size: 10, ttl: 1000 } });
      await waitUntil(async () => (await b.history('short', {})).position.epoch === '', 4000, 'stream expiry');
      const fresh = await a.publish(pub('short', 2), { history: { size: 10, ttl: 1000 } });
      assert.notEqual(fresh!.epoch, old!.epoch);
      assert.equal(fresh!.offset, 1);
    });

    it('lists presence from every node and drops members that are removed or not refreshed', async () => {
      await a.presence.add('room', [{ session: 's1', user: 'u1', node: 'a' }], 60_000);
      await b.presence.add('room', [{ session: 's2', user: 'u2', node: 'b' }], 300);
      const both = await a.presence.list('room');
      assert.deepEqual(both.map((m) => m.session).sort(), ['s1', 's2']);
      await waitUntil(async () => (await b.presence.list('room')).length === 1, 3000, 'expiry of s2');
      await b.presence.remove('room', ['s1']);
      assert.deepEqual(await a.presence.list('room'), []);
    });

    it('carries presence events to other nodes as presence events, not as data', async () => {
      await b.subscribe('lobby');
      await a.publish({ channel: 'lobby', data: null, time: Date.now(), presence: { type: 'join', user: 'u1', session: 's1' } });
      await a.publish({ channel: 'lobby', data: null, time: Date.now(), presence: { type: 'leave', user: 'u1', session: 's1' } });
      await waitUntil(() => received.filter((p) => p.channel === 'lobby').length === 2, 5000, 'both presence events');
      assert.deepEqual(
        received.filter((p) => p.channel === 'lobby').map((p) => p.presence),
        [
          { type: 'join', user: 'u1', session: 's1' },
          { type: 'leave', user: 'u1', session: 's1' },
        ],
      );
    });

    it('carries control messages to every node, the sender included', async () => {
      const message: ControlMessage = { kind: 'disconnect', target: { user: 'u9' }, code: 4000, reason: 'bye' };
      await a.control.publish(message);
      await waitUntil(() => controls[0]!.length > 0 && controls[1]!.length > 0, 5000, 'control on both');
      assert.deepEqual(controls[0]![0], message);
      assert.deepEqual(controls[1]![0], message);
    });

    it('carries every character a channel name may contain', async () => {
      const channel = 'ns:Room_1-a.b/c@d=e+f';
      await b.subscribe(channel);
      await a.publish(pub(channel, 'live'));
      const position = await a.publish(pub(channel, 'kept'), { history });
      await waitUntil(() => received.filter((p) => p.channel === channel).length === 2, 5000, 'both publications');
      assert.deepEqual(
        received.filter((p) => p.channel === channel).map((p) => p.data),
        ['live', 'kept'],
      );
      const stored = await b.history(channel, {});
      assert.deepEqual(stored, { publications: [{ channel, data: 'kept', time: stored.publications[0]!.time, offset: 1, epoch: position!.epoch }], position });
      await a.presence.add(channel, [{ session: 'sess/1+x=', user: 'user@example.org', node: 'a' }], 60_000);
      assert.deepEqual(await b.presence.list(channel), [{ session: 'sess/1+x=', user: 'user@example.org', node: 'a' }]);
      await b.presence.remove(channel, ['sess/1+x=']);
      assert.deepEqual(await a.presence.list(channel), []);
    });

    it('numbers the publications of two nodes racing on one channel without gaps, and delivers them in offset order', async () => {
      const c = await kind.create();
      brokers.push(c);
      const seen: Publication[] = [];
      c.onPublication((p) => seen.push(p));
      await c.subscribe('race');
      const options = { history: { size: 200, ttl: 0 } };
      const positions = await Promise.all([a, b].flatMap((broker, node) => Array.from({ length: 40 }, (_, i) => broker.publish(pub('race', { node, i }), options))));
      const offsets = positions.map((p) => p!.offset).sort((x, y) => x - y);
      assert.deepEqual(
        offsets,
        Array.from({ length: 80 }, (_, i) => i + 1),
      );
      await waitUntil(() => seen.length === 80, 5000, '80 live publications on the third node');
      assert.deepEqual(
        seen.map((p) => p.offset),
        offsets,
        'live publications in strictly increasing offset order, none missing',
      );
      assert.equal(new Set(seen.map((p) => p.epoch)).size, 1);
      for (const node of [0, 1]) {
        const mine = seen
          .map((p) => p.data as { node: number; i: number })
          .filter((d) => d.node === node)
          .map((d) => d.i);
        assert.deepEqual(
          mine,
          Array.from({ length: 40 }, (_, i) => i),
          `node ${node}'s publications in the order it made them`,
        );
      }
      const stored = await c.history('race', {});
      assert.deepEqual(
        stored.publications.map((p) => p.offset),
        offsets,
      );
      assert.deepEqual(
        stored.publications.map((p) => p.data),
        seen.map((p) => p.data),
      );
    });

    it('fails to connect with unavailable when the server cannot be reached', { skip: !kind.connectUnreachable }, async () => {
      await assert.rejects(kind.connectUnreachable!(await freePort()), isUnavailable);
    });

    it('spreads channels over the shards: each channel lives on the shard that owns its slot, live and in history', { skip: !kind.shards }, async () => {
      const cluster = kind.shards!();
      const channels = await channelPerShard(cluster, 'spread');
      for (const channel of channels) await b.subscribe(channel);
      const positions = [];
      for (const channel of channels) {
        await a.publish(pub(channel, 'live'));
        positions.push(await a.publish(pub(channel, 'kept'), { history }));
      }
      await waitUntil(() => channels.every((c) => received.filter((p) => p.channel === c).length === 2), 5000, 'both publications of every shard');
      for (const [shard, channel] of channels.entries()) {
        assert.deepEqual(
          received.filter((p) => p.channel === channel).map((p) => p.data),
          ['live', 'kept'],
          channel,
        );
        const stored = await b.history(channel, {});
        assert.deepEqual(
          stored.publications.map((p) => p.data),
          ['kept'],
          channel,
        );
        assert.deepEqual(stored.position, positions[shard], channel);
      }
      // On the servers: each channel is a shard channel of its own shard only (sharded pub/sub, so its
      // publications never cross the cluster bus), nothing on classic pub/sub, and its keys live there too.
      for (const [owner, channel] of channels.entries()) {
        for (const [shard, node] of cluster.nodes.entries()) {
          const [shardChannels, classic, keys] = await onNode(node, (redis) =>
            Promise.all([redis.pubsub('SHARDCHANNELS', `*{${channel}}*`), redis.pubsub('CHANNELS', `*${channel}*`), redis.keys(`*{${channel}}*`)]),
          );
          assert.equal(shardChannels.length, shard === owner ? 1 : 0, `shard channels of ${channel} on shard ${shard}`);
          assert.deepEqual(classic, [], `classic channels of ${channel} on shard ${shard}`);
          assert.equal(keys.length > 0, shard === owner, `keys of ${channel} on shard ${shard}`);
        }
      }
    });

    it('keeps the other shards working while one is down, fails at once on the lost one, and reports its return', { skip: !kind.shards }, async () => {
      const cluster = kind.shards!();
      const [lost, kept] = await channelPerShard(cluster, 'outage');
      let reconnections = 0;
      b.onReconnect(() => reconnections++);
      await b.subscribe(lost!);
      await b.subscribe(kept!);
      const before = await a.publish(pub(lost!, 'before the outage'), { history });
      await waitUntil(() => received.some((p) => p.channel === lost && p.data === 'before the outage'), 5000, 'the publication before the outage');

      await cluster.nodes[0]!.kill();
      const started = Date.now();
      await assert.rejects(a.publish(pub(lost!, 'lost')), isUnavailable);
      await assert.rejects(a.publish(pub(lost!, 'lost'), { history }), isUnavailable);
      await assert.rejects(a.history(lost!, {}), isUnavailable);
      assert.ok(Date.now() - started < 1000, `rejections took ${Date.now() - started} ms`);
      // The other shards go on: the node stays ready, and their channels publish, deliver and keep history.
      await a.publish(pub(kept!, 'during'), { history });
      await waitUntil(() => received.some((p) => p.channel === kept && p.data === 'during'), 5000, 'a publication on a shard that is up');
      assert.deepEqual(
        (await b.history(kept!, { reverse: true, limit: 1 })).publications.map((p) => p.data),
        ['during'],
      );
      assert.ok(a.healthy && b.healthy);

      await cluster.nodes[0]!.start();
      await waitUntil(() => reconnections > 0, 15_000, 'the shard to be reported back');
      await a.publish(pub(lost!, 'back'));
      const after = await a.publish(pub(lost!, 'back, with history'), { history });
      await waitUntil(() => received.some((p) => p.channel === lost && p.data === 'back, with history'), 5000, 'publications on the shard that came back');
      assert.deepEqual(
        received.filter((p) => p.channel === lost).map((p) => p.data),
        ['before the outage', 'back', 'back, with history'],
      );
      // The shard came back empty (no persistence here): a new epoch, so recovering clients learn they missed history.
      assert.notEqual(after!.epoch, before!.epoch);
    });

    // Last: it kills the server.
    it('fails at once while the server is down, then subscribes every channel again and reports the reconnection', { skip: !kind.service }, async () => {
      const service = kind.service!();
      let reconnections = 0;
      b.onReconnect(() => reconnections++);
      await b.subscribe('comeback');
      const before = await a.publish(pub('comeback', 'before'), { history });
      await waitUntil(() => received.some((p) => p.data === 'before'), 5000, 'publication before the crash');

      await service.kill();
      await waitUntil(() => !a.healthy && !b.healthy, 5000, 'both brokers to notice the crash');
      const started = Date.now();
      await assert.rejects(a.publish(pub('comeback', 'lost')), isUnavailable);
      await assert.rejects(a.publish(pub('comeback', 'lost'), { history }), isUnavailable);
      await assert.rejects(a.history('comeback', {}), isUnavailable);
      await assert.rejects(a.presence.add('room', [{ session: 's3', user: 'u3', node: 'a' }], 60_000), isUnavailable);
      await assert.rejects(a.presence.list('room'), isUnavailable);
      await assert.rejects(a.control.publish({ kind: 'send', target: { user: 'u1' }, data: 1 }), isUnavailable);
      assert.ok(Date.now() - started < 1000, `rejections took ${Date.now() - started} ms`);

      await service.start();
      await waitUntil(() => a.healthy && b.healthy && reconnections > 0, 15_000, 'reconnection');
      await a.publish(pub('comeback', 'after'));
      const after = await a.publish(pub('comeback', 'after, with history'), { history });
      await waitUntil(() => received.some((p) => p.data === 'after, with history'), 5000, 'publications after the reconnection');
      assert.deepEqual(
        received.filter((p) => p.channel === 'comeback').map((p) => p.data),
        ['before', 'after', 'after, with history'],
      );
      if (kind.durable) {
        // The stream survived: the history continues where it was, so clients can recover across the crash.
        assert.deepEqual(after, { offset: before!.offset + 1, epoch: before!.epoch });
        const recovered = await b.history('comeback', { since: before! });
        assert.deepEqual(
          recovered.publications.map((p) => p.data),
          ['after, with history'],
        );
        assert.ok(continuesFrom(before!, recovered));
      }
    });
  });
}
