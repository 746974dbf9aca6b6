import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { connectSse } from '../../helpers/clients.js';
import { killAll, startCluster, startSharedBroker, type SharedBroker } from '../../helpers/cluster.js';
import { startHaproxy, type Haproxy } from '../../helpers/haproxy.js';
import { request } from '../../helpers/http.js';
import { get, post, type NodeProcess } from '../../helpers/node.js';
import { startHttpUpstream, type HttpUpstream } from '../../helpers/upstreams.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

/**
 * The HAProxy example of deploy/ in front of two gateway nodes sharing Redis: a long-poll is held
 * through it until a publication arrives, and a service registered on one node serves requests,
 * an SSE stream and a large upload through the load balancer, with the client's address passed on.
 */
describe('HAProxy example config: long-polling and the gateway', { skip: requireTool('haproxy', 'redis-server') }, () => {
  let broker: SharedBroker | undefined;
  let nodes: NodeProcess[] = [];
  let haproxy: Haproxy | undefined;
  let upstream: HttpUpstream | undefined;
  const streams = new Set<ServerResponse>();

  before(async () => {
    broker = await startSharedBroker('redis');
    nodes = await startCluster(2, broker, [
      '--channels.namespaces',
      JSON.stringify({ h: { historySize: 10 } }),
      '--longPoll.timeout',
      '3s',
      '--gateway.enabled',
      'true',
      '--gateway.trustForwarded',
      'true',
      '--security.allowedPrivateTargets',
      '127.0.0.1',
      '--gateway.routes',
      JSON.stringify([{ name: 'svc', service: 'svc', path: '/svc', stripPrefix: true }]),
    ]);
    haproxy = await startHaproxy(nodes);
    upstream = await startHttpUpstream('svc', (req, res, self) => {
      if (req.url === '/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('event: hello\ndata: first\n\n');
        streams.add(res);
        res.on('close', () => streams.delete(res));
        return;
      }
      let received = 0;
      req.on('data', (c: Buffer) => (received += c.length));
      req.on('end', () => res.end(JSON.stringify({ instance: self.name, received, forwardedFor: req.headers['x-forwarded-for'] })));
    });
  });
  after(async () => {
    for (const s of streams) s.destroy();
    await haproxy?.stop();
    killAll(nodes);
    await upstream?.kill();
    await broker?.service.stop();
  });

  it('holds a long-poll through the load balancer until a publication arrives', async () => {
    const first = await get(`${haproxy!.url}/poll?channels=h:lb`);
    assert.equal(first.status, 200);
    const waiting = get(`${haproxy!.url}/poll?channels=h:lb&cursor=${encodeURIComponent(first.body.cursor)}`);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await post(`${haproxy!.url}/api/publish`, { channel: 'h:lb', data: 'late' })).status, 200);
    const res = await waiting;
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.messages.map((m: { data: unknown }) => m.data),
      ['late'],
    );
  });

  it('serves a registered service, its SSE stream and a 20 MB upload through the load balancer', async () => {
    const registered = await request('POST', `${nodes[0]!.url}/api/services/svc/instances`, { body: { url: upstream!.url } });
    assert.equal(registered.status, 201);
    // HAProxy spreads requests over both nodes: every one serves the instance registered on node 1.
    await waitUntil(
      async () => {
        const answers = await Promise.all(Array.from({ length: 4 }, () => request('GET', `${haproxy!.url}/svc/x`)));
        return answers.every((a) => a.body?.instance === 'svc');
      },
      2000,
      'both nodes to serve the instance',
    );
    const res = await request('GET', `${haproxy!.url}/svc/x`);
    assert.match(res.body.forwardedFor, /^127\.0\.0\.1, 127\.0\.0\.1$/, "HAProxy's X-Forwarded-For is kept and appended to");

    const stream = await connectSse(`${haproxy!.url}/svc/events`);
    assert.equal(stream.status, 200);
    assert.equal((await stream.next((e) => e.event === 'hello')).data, 'first');
    for (const s of streams) s.write('event: later\ndata: second\n\n');
    assert.equal((await stream.next((e) => e.event === 'later', 2000)).data, 'second');
    stream.close();

    const body = Buffer.alloc(20 * 1024 * 1024, 'u');
    const upload = await fetch(`${haproxy!.url}/svc/upload`, { method: 'POST', body });
    assert.equal(upload.status, 200);
    assert.equal((await upload.json()).received, body.length);
  });
});
