import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { connectWs } from '../../helpers/clients.js';
import { cliPath, startNode } from '../../helpers/node.js';
import { spawnOwned } from '../../helpers/processes.js';
import { startKafkaMock, startRedis } from '../../helpers/services.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

const topic = 'orders';
const partitions = 4;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (low: number, high: number) => low + Math.floor(Math.random() * (high - low));

/** A bridging node as a real process, to be killed with SIGKILL at any moment, even before it listens. */
interface BridgeNode {
  child: ChildProcess;
  /** Resolves when the node logs `bridge.started`. */
  started: Promise<void>;
  kill(): void;
}

function spawnBridgeNode(env: Record<string, string>): BridgeNode {
  const child = spawnOwned(process.execPath, [cliPath, 'serve', '--host', '127.0.0.1', '--port', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
  const started = new Promise<void>((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`bridge node exited (${code ?? signal}) before bridge.started`)));
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      if (lines.some((line) => line.includes('"event":"bridge.started"'))) resolve();
    });
  });
  // A node killed before it started must not leave an unhandled rejection behind.
  started.catch(() => {});
  return {
    child,
    started,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

describe('a Kafka bridge on two nodes loses no record when a node is killed with SIGKILL', { skip: requireTool('kcat', 'redis-server') }, () => {
  it('delivers every record produced after the first bridge.started at least once, with kills while the group starts and while records flow', { timeout: 120_000 }, async (t) => {
    const [kafka, redis] = await Promise.all([startKafkaMock(), startRedis()]);
    const client = new Kafka({ clientId: 'test-writer', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
    const admin = client.admin();
    const producer = client.producer();
    const nodes: BridgeNode[] = [];
    // The observer runs no bridge: it only passes the channel's publications (through Redis) to a client.
    const observer = await startNode({ 'broker.type': 'redis', 'broker.redis.url': redis.url });
    const ws = await connectWs(`${observer.wsUrl}/ws`);
    t.after(async () => {
      for (const node of nodes) node.kill();
      ws.close();
      await observer.stop();
      await producer.disconnect();
      await admin.disconnect();
      await Promise.all([kafka.stop(), redis.stop()]);
    });
    await admin.connect();
    await producer.connect();
    // The mock cluster refuses CreateTopics; it creates a topic on first use, with four partitions.
    await producer.send({ topic, acks: -1, messages: [{ value: JSON.stringify({ n: -1 }) }] });
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    assert.equal(metadata!.partitions.length, partitions);
    ws.send({ type: 'subscribe', id: 1, channel: 'feed' });
    await ws.next((f) => f.type === 'subscribed');

    const env = {
      SWITCHBOARD_API_INSECURE: 'true',
      SWITCHBOARD_BROKER_TYPE: 'redis',
      SWITCHBOARD_BROKER_REDIS_URL: redis.url,
      SWITCHBOARD_BRIDGES_KAFKA_BROKERS: kafka.url,
      SWITCHBOARD_BRIDGES_KAFKA_SESSION_TIMEOUT: '6s',
      SWITCHBOARD_BRIDGES_DEFINITIONS: JSON.stringify([{ name: 'orders', source: 'kafka', topic, target: { type: 'channel', value: 'feed' } }]),
    };
    nodes.push(spawnBridgeNode(env), spawnBridgeNode(env));
    await Promise.race(nodes.map((n) => n.started));

    const produced: number[] = [];
    let producing = true;
    const producer$ = (async () => {
      for (let n = 0; producing; n++) {
        await producer.send({ topic, acks: -1, messages: [{ partition: n % partitions, value: JSON.stringify({ n }) }] });
        produced.push(n);
        await sleep(20);
      }
    })();
    // One kill while the group still forms (the second node joining, first assignments), one while
    // records flow; the killed node is started again at once, so the group rebalances once more.
    const kills = [between(0, 1500), between(5000, 9000)];
    let elapsed = 0;
    for (const at of kills) {
      await sleep(at - elapsed);
      elapsed = at;
      const victim = between(0, nodes.length);
      nodes[victim]!.kill();
      nodes[victim] = spawnBridgeNode(env);
    }
    await sleep(4000);
    producing = false;
    await producer$;

    const received = () => new Set(ws.inbox.all.filter((f) => f.type === 'message' && f.channel === 'feed').map((f) => f.data.n as number));
    await waitUntil(() => produced.every((n) => received().has(n)), 70_000, 'every produced record delivered').catch(() => {});
    const missing = produced.filter((n) => !received().has(n));
    const perPartition = Array.from({ length: partitions }, (_, p) => missing.filter((n) => n % partitions === p).length);
    assert.deepEqual(missing, [], `${missing.length} of ${produced.length} records never delivered (missing per partition: ${perPartition.join(',')})`);
  });
});
