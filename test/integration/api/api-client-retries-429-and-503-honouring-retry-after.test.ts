import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SwitchboardApi, SwitchboardApiError } from '../../../src/api-client/index.js';

interface Seen {
  at: number;
  body: string;
}

/** A stand-in node that answers from a script: each request takes the next [status, headers, body]. */
describe('the API client retries answers 429 and 503', () => {
  let server: Server;
  let url: string;
  let script: [number, Record<string, string>, unknown][] = [];
  let seen: Seen[] = [];

  const readBody = async (req: IncomingMessage) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    return text;
  };

  before(async () => {
    server = createServer(async (req, res) => {
      seen.push({ at: Date.now(), body: await readBody(req) });
      const [status, headers, body] = script.shift() ?? [500, {}, { error: { code: 'internal', message: 'script ran out' } }];
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());
  beforeEach(() => {
    seen = [];
  });

  const unavailable = { error: { code: 'unavailable', message: 'the broker is unavailable' } };

  it('tries a topic publish again after 503 with the same idempotency key, until it succeeds', async () => {
    script = [
      [503, { 'retry-after': '0' }, unavailable],
      [503, {}, unavailable],
      [200, {}, { id: 'm1', position: '1-0', duplicate: false }],
    ];
    const api = new SwitchboardApi({ url, minRetryDelay: 1 });
    const result = await api.topics.publish('shop', 'orders', { data: 1 });
    assert.equal(result.id, 'm1');
    assert.equal(seen.length, 3);
    const keys = seen.map((s) => JSON.parse(s.body).idempotencyKey as string);
    assert.match(keys[0]!, /^[0-9a-f-]{36}$/);
    assert.deepEqual(new Set(keys).size, 1);
  });

  it('waits as long as Retry-After says on 429', async () => {
    script = [
      [429, { 'retry-after': '1' }, { error: { code: 'rate_limited', message: 'publish quota exceeded; retry after 1 s' } }],
      [200, {}, { channel: 'news', subscribers: 0 }],
    ];
    const api = new SwitchboardApi({ url, minRetryDelay: 1 });
    assert.equal((await api.publish('news', 1)).subscribers, 0);
    assert.equal(seen.length, 2);
    assert.ok(seen[1]!.at - seen[0]!.at >= 900, `retried after ${seen[1]!.at - seen[0]!.at} ms`);
  });

  it('gives up after its retries with the last error', async () => {
    script = [
      [503, { 'retry-after': '0' }, unavailable],
      [503, { 'retry-after': '0' }, unavailable],
      [503, { 'retry-after': '0' }, unavailable],
    ];
    const api = new SwitchboardApi({ url, retries: 2 });
    await assert.rejects(api.publish('news', 1), (err) => err instanceof SwitchboardApiError && err.code === 'unavailable' && err.status === 503);
    assert.equal(seen.length, 3);
  });

  it('does not retry other errors', async () => {
    script = [[400, {}, { error: { code: 'bad_request', message: 'data is required' } }]];
    const api = new SwitchboardApi({ url });
    await assert.rejects(api.publish('news', undefined), (err) => err instanceof SwitchboardApiError && err.code === 'bad_request');
    assert.equal(seen.length, 1);
  });
});
