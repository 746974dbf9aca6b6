import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hmacToken } from '../helpers/auth.js';
import { connectWs } from '../helpers/clients.js';
import { request } from '../helpers/http.js';
import { startProcess, type NodeProcess } from '../helpers/node.js';
import { rawHttp, type RawRequest } from '../helpers/raw-http.js';
import { startHttpUpstream, type HttpUpstream } from '../helpers/upstreams.js';

const secret = 'fuzz-test-secret-that-is-long-enough';

/** A small seeded generator, so a failure can be replayed with the same requests. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values that have broken parsers before: bad percent-encoding, prototype names, odd numbers, long and deep text. */
const nasty = [
  '%', '%zz', '%E0%A4%A', '%00', '%%%', '%2e%2e%2f', '../../etc/passwd', '__proto__', 'constructor', 'toString',
  'hasOwnProperty', '__proto__:x', 'constructor:prototype', '=', ';', ',,,', '"', "'", '\\', '{', '[', 'null', 'true',
  '-1', '1e999', 'NaN', '0x10', '9007199254740993', ' ', '\t', 'caf\xe9', '\xff\xfe', 'a'.repeat(3000), '['.repeat(2000),
  '{"a":'.repeat(500), 'Bearer', 'Bearer %', 'Basic Zm9vOmJhcg==', 'eyJhbGciOiJub25lIn0.e30.', 'a.b.c', '*', '?', '#',
];

const queryNames = ['token', 'channels', 'channel', 'cursor', 'session', 'since', 'timeout', 'limit', 'user'];
const headerNames = ['Cookie', 'Authorization', 'Last-Event-ID', 'Origin', 'X-Forwarded-For', 'Content-Type', 'Accept', 'Sec-WebSocket-Protocol', 'X-Api-Key', 'Sec-WebSocket-Version'];

const bodies = [
  '', '{', '[]', '[{}]', 'null', '"x"', '{"type":"ping"}', '[{"type":"ping"},{"type":"bogus"}]', '{"channel":"news","data":1}',
  '{"channel":"__proto__:x","data":1}', '{"__proto__":{"polluted":true},"channel":"news","data":{}}', '{"channels":["news","__proto__"],"data":1}',
  `${'['.repeat(20_000)}${']'.repeat(20_000)}`, `{"type":"publish","channel":"news","data":${'['.repeat(5000)}${']'.repeat(5000)}}`,
  '{"messages":[{"data":"x"}]}', '{"type":"send","data":{"x":1}}', '\xff\xfe\x00', 'a'.repeat(5000),
];

interface Endpoint {
  method: string;
  path: string;
  upgrade?: boolean;
  body?: boolean;
}

const endpoints: Endpoint[] = [
  { method: 'GET', path: '/ws', upgrade: true },
  { method: 'GET', path: '/ws/messages', upgrade: true },
  { method: 'GET', path: '/sse' },
  { method: 'GET', path: '/sse/messages' },
  { method: 'GET', path: '/stream' },
  { method: 'GET', path: '/poll' },
  { method: 'POST', path: '/frames', body: true },
  { method: 'POST', path: '/messages', body: true },
  { method: 'POST', path: '/api/publish', body: true },
  { method: 'POST', path: '/api/broadcast', body: true },
  { method: 'GET', path: '/api/channels' },
  { method: 'GET', path: '/api/channels/news/history' },
  { method: 'GET', path: '/api/sessions' },
  { method: 'POST', path: '/api/topics/applications', body: true },
  { method: 'POST', path: '/api/topics/shop/topics', body: true },
  { method: 'POST', path: '/api/topics/shop/topics/orders/publish', body: true },
  { method: 'GET', path: '/api/topics/shop/subscriptions/s/stream', upgrade: true },
  { method: 'GET', path: '/api/topics/shop/subscriptions/s/pull' },
  { method: 'GET', path: '/svc/anything' },
  { method: 'POST', path: '/svc/anything', body: true },
  { method: 'GET', path: '/svc/socket', upgrade: true },
  { method: 'GET', path: '/metrics' },
];

function pick<T>(random: () => number, list: T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

/** One request with a few fuzzed query parameters and headers, and a fuzzed body where the endpoint takes one. */
function fuzzedRequest(random: () => number, endpoint: Endpoint, token: string): RawRequest {
  const query = Array.from({ length: Math.floor(random() * 3) }, () => `${pick(random, queryNames)}=${pick(random, nasty)}`);
  if (random() < 0.3) query.push('channels=news');
  const headers: string[] = [];
  for (let i = Math.floor(random() * 4); i > 0; i--) {
    const name = pick(random, headerNames);
    const value = pick(random, nasty);
    headers.push(name === 'Cookie' ? `Cookie: switchboard_token=${value}` : `${name}: ${value}`);
  }
  // A valid token in some requests lets the fuzzed values reach past authentication.
  if (random() < 0.4) headers.push(`Authorization: Bearer ${token}`);
  const target = `${endpoint.path}${query.length > 0 ? `?${query.join('&')}` : ''}`;
  const body = endpoint.body ? pick(random, bodies) : undefined;
  if (body !== undefined && !headers.some((h) => h.startsWith('Content-Type'))) headers.push('Content-Type: application/json');
  return { method: endpoint.method, target: target.replace(/[\s#]/g, '+'), headers, body, upgrade: endpoint.upgrade };
}

describe('fuzzed headers, cookies, query strings and bodies on every endpoint', () => {
  let node: NodeProcess;
  let upstream: HttpUpstream;
  let token: string;

  before(async () => {
    upstream = await startHttpUpstream('svc');
    token = await hmacToken(secret, { sub: 'fuzzer' });
    node = await startProcess([
      '--auth.anonymous', 'false',
      '--auth.jwt.secrets', secret,
      '--api.insecure', 'true',
      '--compat.push.enabled', 'true',
      '--channels.default.historySize', '10',
      '--gateway.enabled', 'true',
      '--gateway.services', JSON.stringify({ svc: { instances: [upstream.url] } }),
      '--gateway.routes', JSON.stringify([{ name: 'svc', service: 'svc', path: '/svc' }]),
    ]);
  });
  after(async () => {
    node?.kill();
    await upstream?.kill();
  });

  it('never end the node, never answer 500, and a normal client still connects and receives a publication afterwards', async () => {
    const random = generator(24);
    const internal: string[] = [];
    let sent = 0;
    // Each endpoint in turn, in rounds of concurrent requests: about 2,000 requests.
    for (let round = 0; round < 100; round++) {
      const batch = Array.from({ length: endpoints.length }, (_, i) => fuzzedRequest(random, endpoints[i]!, token));
      const answers = await Promise.all(batch.map((req) => rawHttp(node.port, req, 2000)));
      sent += batch.length;
      answers.forEach((answer, i) => {
        if (answer.status === 500) internal.push(`${batch[i]!.method} ${batch[i]!.target.slice(0, 120)} -> ${answer.body.slice(0, 200)}`);
      });
      assert.equal(node.child.exitCode, null, `the node exited after ${sent} requests`);
    }
    assert.deepEqual(internal, [], 'no fuzzed request is answered 500 internal');

    const client = await connectWs(`${node.url.replace('http', 'ws')}/ws?channels=news`, { headers: { authorization: `Bearer ${token}` } });
    try {
      await client.next((f) => f.type === 'welcome');
      await client.next((f) => f.type === 'subscribed');
      const published = await request('POST', `${node.url}/api/publish`, { body: { channel: 'news', data: { after: 'fuzz' } } });
      assert.equal(published.status, 200);
      const message = await client.next((f) => f.type === 'message');
      assert.deepEqual(message.data, { after: 'fuzz' });
    } finally {
      client.close();
    }
    assert.equal(node.child.exitCode, null);
  });
});
