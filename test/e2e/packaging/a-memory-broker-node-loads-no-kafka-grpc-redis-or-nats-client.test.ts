import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { get, startProcess } from '../../helpers/node.js';
import { signalGroup } from '../../helpers/processes.js';

const nodeModules = new URL('../../../../node_modules/', import.meta.url);
const reporter = fileURLToPath(new URL('../../fixtures/report-loaded-packages.js', import.meta.url));
/** The client libraries of the brokers, topic stores, bridges and gRPC forwarding a memory node does not use. */
const unused = ['kafkajs', '@grpc/grpc-js', '@grpc/proto-loader', 'ioredis', '@nats-io/transport-node', '@nats-io/nats-core', '@nats-io/jetstream', '@nats-io/kv', 'graphql'];

describe('A node on the memory broker', () => {
  it('the reporter sees these libraries: each is a CommonJS package', () => {
    for (const name of unused) {
      const manifest = JSON.parse(readFileSync(new URL(`${name}/package.json`, nodeModules), 'utf8')) as { type?: string };
      assert.notEqual(manifest.type, 'module', `${name} is an ES module package, which require's cache does not list`);
    }
  });

  it('serves with the gateway on without loading Kafka, gRPC, Redis or NATS client libraries, nor graphql-js', async () => {
    const proc = await startProcess(['--api.insecure', '--gateway.enabled'], {}, ['--import', reporter]);
    try {
      assert.equal((await get(`${proc.url}/readyz`)).status, 200);
      signalGroup(proc.child, 'SIGTERM');
      const exit = await proc.exited;
      assert.equal(exit.code, 0);
      const report = proc.lines.map((line) => JSON.parse(line) as { loadedPackages?: string[] }).find((entry) => entry.loadedPackages);
      assert.ok(report?.loadedPackages, 'the process reported the packages it loaded');
      assert.ok(report.loadedPackages.includes('fastify'), `the report lists what the node does load: ${report.loadedPackages.join(' ')}`);
      assert.deepEqual(
        report.loadedPackages.filter((name) => unused.includes(name)),
        [],
      );
    } finally {
      proc.kill();
    }
  });
});
