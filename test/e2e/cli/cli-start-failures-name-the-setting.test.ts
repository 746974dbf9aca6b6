import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { runCli, type CliResult } from '../../helpers/cli.js';

function oneLine(res: CliResult, pattern: RegExp): void {
  assert.equal(res.code, 1, res.stderr);
  assert.doesNotMatch(res.stderr, /\n\s+at /, `no stack trace:\n${res.stderr}`);
  assert.match(res.stderr, pattern);
  assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
}

describe('a node that cannot start', () => {
  it('says in one line that server.port is already in use, with code 1', async () => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as AddressInfo).port;
    try {
      const res = await runCli(['serve', '--api.insecure', '--host', '127.0.0.1', '--port', String(port)]);
      oneLine(res, new RegExp(`^server\\.port: ${port} is already in use on 127\\.0\\.0\\.1\\n`));
    } finally {
      taken.close();
    }
  });

  it('says in one line which broker host cannot be resolved, with code 1', async () => {
    const redis = await runCli(['serve', '--api.insecure', '--port', '0', '--broker.type', 'redis', '--broker.redis.url', 'redis://nope.invalid:6379'], {}, 30_000);
    oneLine(redis, /^broker\.redis\.url: cannot resolve host nope\.invalid\n/);
    const nats = await runCli(['serve', '--api.insecure', '--port', '0', '--broker.type', 'nats', '--broker.nats.servers', 'nats://nope.invalid:4222'], {}, 30_000);
    oneLine(nats, /^broker\.nats\.servers: cannot resolve host nope\.invalid\n/);
  });

  it('says in one line that the broker does not answer, with code 1', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    const res = await runCli(['serve', '--api.insecure', '--port', '0', '--broker.type', 'redis', '--broker.redis.url', `redis://127.0.0.1:${port}`], {}, 30_000);
    oneLine(res, new RegExp(`^broker\\.redis\\.url: cannot connect to redis://127\\.0\\.0\\.1:${port} \\(`));
  });
});
