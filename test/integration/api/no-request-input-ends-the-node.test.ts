import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hmacToken } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { request } from '../../helpers/http.js';
import { startProcess, type NodeProcess } from '../../helpers/node.js';
import { rawHttp, type RawRequest } from '../../helpers/raw-http.js';
import { startHttpUpstream, type HttpUpstream } from '../../helpers/upstreams.js';

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
  '%',
  '%zz',
  '%E0%A4%A',
  '%00',
  '%%%',
  '%2e%2e%2f',
  '../../etc/passwd',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '__proto__:x',
  'constructor:prototype',
  '=',
  ';',
  ',,,',
  '"',
  "'",
  '\\',
  '{',
  '[',
  'null',
  'true',
  '-1',
  '1e999',
  'NaN',
  '0x10',
  '9007199254740993',
  ' ',
  '\t',
  'caf\xe9',
  '\xff\xfe',
  'a'.repeat(3000),
  '['.repeat(2000),
  '{"a":'.repeat(500),
  'Bearer',
  'Bearer %',
  'Basic Zm9vOmJhcg==',
  'eyJhbGciOiJub25lIn0.e30.',
  'a.b.c',
  '*',
  '?',
  '#',
];

const queryNames = ['token', 'channels', 'channel', 'cursor', 'session', 'since', 'timeout', 'limit', 'user'];
const headerNames = [
  'Cookie',
  'Authorization',
  'Last-Event-ID',
  'Origin',
  'X-Forwarded-For',
  'Content-Type',
  'Accept',
  'Sec-WebSocket-Protocol',
  'X-Api-Key',
  'Sec-WebSocket-Version',
];

const bodies = [
  '',
  '{',
  '[]',
  '[{}]',
  'null',
  '"x"',
  '{"type":"ping"}',
  '[{"type":"ping"},{"type":"bogus"}]',
  '{"channel":"news","data":1}',
  '{"channel":"__proto__:x","data":1}',
  '{"__proto__":{"polluted":true},"channel":"news","data":{}}',
  '{"channels":["news","__proto__"],"data":1}',
  `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
  `{"type":"publish","channel":"news","data":${'['.repeat(5000)}${']'.repeat(5000)}}`,
  '{"messages":[{"data":"x"}]}',
  '{"type":"send","data":{"x":1}}',
  '\xff\xfe\x00',
  'a'.repeat(5000),
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
  // Paths that are not valid percent-encoding, on the API, the topic routes and the gateway.
  { method: 'GET', path: '/api/channels/%zz/history' },
  { method: 'GET', path: '/api/topics/%E0%A4%A/topics' },
  { method: 'GET', path: '/svc/%zz/..%2f%E0%A4%A' },
  { method: 'GET', path: '/svc/%', upgrade: true },
  { method: 'GET', path: '/ws/%zz', upgrade: true },
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

const frameTypes = ['subscribe', 'unsubscribe', 'publish', 'send', 'rpc', 'refresh', 'presence', 'ping', 'connect', 'bogus', '__proto__'];

/** A frame of a known or unknown type whose fields hold fuzzed values. */
function fuzzedFrame(random: () => number): string {
  const value = (): unknown => pick<unknown>(random, [pick(random, nasty), 1, -1, null, true, [], {}, { offset: -1, epoch: pick(random, nasty) }, 1e308]);
  const frame: Record<string, unknown> = { type: pick(random, frameTypes) };
  for (const field of ['id', 'channel', 'data', 'token', 'since', 'method']) if (random() < 0.6) frame[field] = value();
  const text = JSON.stringify(frame);
  return random() < 0.2 ? `[${text},${text}]` : text;
}

describe('fuzzed headers, cookies, query strings, bodies and frames on every endpoint', () => {
  let node: NodeProcess;
  let upstream: HttpUpstream;
  let token: string;

  before(async () => {
    upstream = await startHttpUpstream('svc');
    token = await hmacToken(secret, { sub: 'fuzzer' });
    node = await startProcess([
      '--auth.anonymous',
      'false',
      '--auth.jwt.secrets',
      secret,
      '--api.insecure',
      'true',
      '--compat.push.enabled',
      'true',
      '--channels.default.historySize',
      '10',
      '--channels.default.publish',
      'public',
      // The fuzzed frames of one connection must reach the commands, not end at the bad-input and rate limits.
      '--limits.maxBadFrames',
      '1000000',
      '--limits.clientMessagesBurst',
      '1000000',
      '--gateway.enabled',
      'true',
      '--gateway.services',
      JSON.stringify({ svc: { instances: [upstream.url] } }),
      '--gateway.routes',
      JSON.stringify([{ name: 'svc', service: 'svc', path: '/svc' }]),
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
    // Each endpoint in turn, in rounds of concurrent requests: about 2,700 requests.
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

    // Fuzzed frames over open WebSockets, native and Push.
    for (const path of ['/ws?channels=news', '/ws/messages?channels=news']) {
      const socket = await connectWs(`${node.url.replace('http', 'ws')}${path}`, { headers: { authorization: `Bearer ${token}` } });
      for (let i = 0; i < 300; i++) {
        if (random() < 0.1) socket.ws.send(Buffer.from([0xff, 0xfe, 0x00]), { binary: random() < 0.5 });
        else socket.ws.send(random() < 0.3 ? pick(random, [...bodies, ...nasty]) : fuzzedFrame(random));
      }
      socket.send({ type: 'ping', id: 'last' });
      if (path.startsWith('/ws?')) await socket.next((f) => f.type === 'pong' && f.id === 'last', 10_000);
      assert.deepEqual(
        socket.inbox.all.filter((f) => f.error?.code === 'internal'),
        [],
        `no fuzzed frame on ${path} is answered internal`,
      );
      socket.close();
      assert.equal(node.child.exitCode, null, `the node exited after fuzzed frames on ${path}`);
    }

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
