import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { bearer, hmacToken, wsAccepts } from '../../helpers/auth.js';
import { runCli, waitForLog } from '../../helpers/cli.js';
import { connectSse, connectWs, type WsClient } from '../../helpers/clients.js';
import { brokerTools, fastCluster, startSharedBroker, wsUrl, type SharedBroker } from '../../helpers/cluster.js';
import { requireTool } from '../../helpers/tools.js';
import { get, post, startProcess, type NodeProcess } from '../../helpers/node.js';
import { freePort } from '../../helpers/services.js';
import { request } from '../../helpers/http.js';
import { CloseCodes } from '../../../src/protocol/errors.js';
import { waitUntil } from '../../helpers/wait.js';

/**
 * `switchboard serve --workers 2` with the memory broker: one port, two worker processes, one
 * broker in the primary. Whatever works across the nodes of a cluster works across the workers.
 */
const secret = 'workers-on-one-port-secret';
const namespaces = JSON.stringify({ room: { presence: true }, feed: { historySize: 100 } });

/** A POST on a connection of its own, so that successive requests land on the workers in turn. */
function postOnNewConnection(url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('two workers on one port, sharing the memory broker of their primary', () => {
  let proc: NodeProcess;
  let primaryId: string;
  const open: WsClient[] = [];

  before(async () => {
    proc = await startProcess(['--workers', '2', '--api.insecure', 'true', '--channels.namespaces', namespaces, ...fastCluster], { SWITCHBOARD_AUTH_JWT_SECRETS: secret });
    primaryId = (await waitForLog(proc, (e) => e.event === 'workers.started', 60_000)).node;
  });
  after(() => {
    for (const client of open) client.close();
    proc?.kill();
  });

  const worker = (n: number) => `${primaryId}/w${n}`;

  /**
   * A WebSocket session on the given worker: the cluster module hands connections out in turn, so
   * a few attempts land on each.
   */
  async function wsOn(n: number, query = '', headers: Record<string, string> = {}): Promise<WsClient & { session: string }> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const client = await connectWs(`${wsUrl(proc)}/ws${query}`, { headers });
      const welcome = await client.next((f) => f.type === 'welcome');
      if (welcome.node === worker(n)) {
        open.push(client);
        return Object.assign(client, { session: welcome.session as string });
      }
      client.close();
    }
    throw new Error(`no connection landed on ${worker(n)}`);
  }

  it('lists every worker as a node NODEID/wN, and answers /readyz and /metrics for all of them', async () => {
    await waitUntil(async () => ((await get(`${proc.url}/api/nodes`)).body.nodes as { id: string }[]).length === 2, 10_000, 'both workers in the node list');
    const nodes = ((await get(`${proc.url}/api/nodes`)).body.nodes as { id: string }[]).map((n) => n.id).sort();
    assert.deepEqual(nodes, [worker(1), worker(2)]);
    const ready = await get(`${proc.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body.workers, [
      { node: worker(1), status: 'ready' },
      { node: worker(2), status: 'ready' },
    ]);
    const metrics = (await get(`${proc.url}/metrics`)).text;
    for (const n of [1, 2]) assert.match(metrics, new RegExp(`switchboard_sessions\\{transport="ws",worker="${worker(n)}"\\}`));
    assert.match(metrics, /^switchboard_workers 2$/m);
  });

  it('shares presence: a session on one worker sees the join of a session on the other, and both are members', async () => {
    const channel = 'room:lobby';
    const one = await wsOn(1, `?channels=${channel}`);
    await one.next((f) => f.type === 'subscribed');
    const two = await wsOn(2, `?channels=${channel}`);
    assert.deepEqual(await one.next((f) => f.type === 'join' && f.session === two.session), { type: 'join', channel, user: '', session: two.session });
    const members = ((await get(`${proc.url}/api/channels/${channel}/presence`)).body.members as { session: string; node: string }[]).map((m) => [m.session, m.node]).sort();
    assert.deepEqual(
      members,
      [
        [one.session, worker(1)],
        [two.session, worker(2)],
      ].sort(),
    );
    two.close();
    assert.deepEqual(await one.next((f) => f.type === 'leave'), { type: 'leave', channel, user: '', session: two.session });
    one.close();
  });

  it('serves the session API over both workers: lists every session and disconnects one held by either', async () => {
    const one = await wsOn(1);
    const two = await wsOn(2);
    await waitUntil(
      async () => {
        const listed = ((await get(`${proc.url}/api/sessions`)).body.sessions as { id: string }[]).map((s) => s.id);
        return listed.includes(one.session) && listed.includes(two.session);
      },
      5000,
      'both sessions listed',
    );
    for (const client of [one, two]) {
      // Several requests: they land on both workers in turn, and each reaches the session wherever it is.
      const res = await request('DELETE', `${proc.url}/api/sessions/${client.session}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal((await client.closed).code, CloseCodes.reconnect);
    }
    const message = await wsOn(2);
    for (let i = 0; i < 2; i++) {
      const res = await post(`${proc.url}/api/sessions/${message.session}/messages`, { data: { i } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    assert.deepEqual((await message.next((f) => f.type === 'message')).data, { i: 0 });
    assert.deepEqual((await message.next((f) => f.type === 'message')).data, { i: 1 });
    message.close();
  });

  it('revokes on every worker: the sessions of a revoked user close wherever they are, and its token is refused', async () => {
    const token = await hmacToken(secret, { sub: 'mallory' }, { expiresIn: 600, issuedAt: Math.floor(Date.now() / 1000) - 5 });
    const sessions = [await wsOn(1, '', bearer(token)), await wsOn(2, '', bearer(token))];
    const res = await post(`${proc.url}/api/revocations`, { user: 'mallory', expiresIn: 600 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    for (const session of sessions) assert.equal((await session.closed).code, 4506);
    for (let i = 0; i < 4; i++) assert.equal(await wsAccepts(wsUrl(proc), token), false, 'refused by every worker');
  });

  it('recovers across workers: a client that left one worker resumes on the other with exactly what it missed', async () => {
    const channel = 'feed:scores';
    const one = await wsOn(1, `?channels=${channel}`);
    await one.next((f) => f.type === 'subscribed');
    const first = await post(`${proc.url}/api/publish`, { channel, data: 'seen' });
    const seen = await one.next((f) => f.type === 'message');
    assert.equal(seen.offset, first.body.offset);
    one.close();
    await one.closed;
    const missed = [];
    for (let i = 0; i < 3; i++) missed.push((await post(`${proc.url}/api/publish`, { channel, data: { missed: i } })).body);
    const two = await wsOn(2);
    two.send({ type: 'subscribe', id: 'resume', channel, since: { offset: seen.offset, epoch: seen.epoch } });
    const resumed = await two.next((f) => f.type === 'subscribed');
    assert.deepEqual(resumed, { type: 'subscribed', id: 'resume', channel, recovered: true, offset: seen.offset + 3, epoch: seen.epoch, replayed: 3 });
    for (let i = 0; i < 3; i++) assert.deepEqual((await two.next((f) => f.type === 'message')).data, { missed: i });
    two.close();
  });

  it('needs no stickiness: frames posted for a stream session are taken by whichever worker gets the request', async () => {
    const stream = await connectSse(`${proc.url}/sse`);
    try {
      const welcome = JSON.parse((await stream.next((e) => e.event === 'welcome')).data);
      const url = `${proc.url}/frames?session=${welcome.session}`;
      // Each on a new connection: the workers take them in turn, and the one without the session finds it on the other.
      for (let id = 1; id <= 4; id++) {
        const res = await postOnNewConnection(url, { type: 'ping', id }, { 'x-switchboard-session-secret': welcome.sessionSecret });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      }
      const refused = await postOnNewConnection(url, { type: 'ping', id: 5 }, { 'x-switchboard-session-secret': 'A'.repeat(welcome.sessionSecret.length) });
      assert.equal(refused.status, 403, 'a wrong secret is refused');
    } finally {
      stream.close();
    }
  });

  // Last: it kills a worker.
  it('starts a new worker when one is killed; its clients reconnect through the same port and recover what they missed', async () => {
    const channel = 'feed:after-crash';
    const client = await wsOn(1, `?channels=${channel}`);
    await client.next((f) => f.type === 'subscribed');
    await post(`${proc.url}/api/publish`, { channel, data: 'before' });
    const last = await client.next((f) => f.type === 'message');
    const pid = (await waitForLog(proc, (e) => e.event === 'workers.listening' && e.worker === worker(1))).pid as number;

    process.kill(pid, 'SIGKILL');
    await client.closed;
    // Until the primary has seen the worker die, it may still hand it new connections.
    const died = await waitForLog(proc, (e) => e.event === 'workers.died' && e.worker === worker(1), 10_000);
    assert.equal(died.signal, 'SIGKILL');
    // The other worker keeps serving while the dead one is replaced: publications go on.
    const during = [];
    for (let i = 0; i < 3; i++) {
      // A new connection each: a kept-alive one may belong to the killed worker.
      const res = await post(`${proc.url}/api/publish`, { channel, data: { during: i } }, { connection: 'close' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      during.push(res.body);
    }
    await waitForLog(proc, (e) => e.event === 'workers.listening' && e.worker === worker(1) && e.pid !== pid, 60_000);

    const back = await connectWs(`${wsUrl(proc)}/ws`);
    open.push(back);
    await back.next((f) => f.type === 'welcome');
    back.send({ type: 'subscribe', id: 'resume', channel, since: { offset: last.offset, epoch: last.epoch } });
    const resumed = await back.next((f) => f.type === 'subscribed');
    assert.equal(resumed.recovered, true);
    assert.equal(resumed.replayed, 3);
    for (let i = 0; i < 3; i++) assert.deepEqual((await back.next((f) => f.type === 'message')).data, { during: i });
    await waitUntil(async () => (await get(`${proc.url}/readyz`)).status === 200, 10_000, 'the machine to be ready again');
    assert.match((await get(`${proc.url}/metrics`)).text, /^switchboard_worker_restarts_total 1$/m);
  });
});

describe('SIGTERM to the primary of two workers', () => {
  let proc: NodeProcess;
  after(() => proc?.kill());

  it('drains every worker: their clients are asked to reconnect, no worker is started again, and the primary exits 0', async () => {
    proc = await startProcess(['--workers', '2', '--api.insecure', 'true', '--shutdown.drainWindow', '500ms', '--sessions.closeGracePeriod', '500ms']);
    await waitForLog(proc, (e) => e.event === 'workers.started', 60_000);
    const nodes = new Set<string>();
    const clients: WsClient[] = [];
    while (nodes.size < 2 && clients.length < 20) {
      const client = await connectWs(`${wsUrl(proc)}/ws?channels=live`);
      clients.push(client);
      nodes.add((await client.next((f) => f.type === 'welcome')).node);
    }
    assert.equal(nodes.size, 2, 'clients on both workers');
    proc.child.kill('SIGTERM');
    for (const client of clients) {
      assert.equal((await client.next((f) => f.type === 'reconnect', 10_000)).reason, 'shutdown');
      await client.closed;
    }
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
    assert.ok(!proc.lines.some((line) => line.includes('"workers.died"')), 'no worker was restarted');
    assert.ok(proc.lines.some((line) => line.includes('"workers.stopped"')));
  });
});

describe('two workers on one port with Redis', { skip: requireTool(brokerTools.redis) }, () => {
  let broker: SharedBroker | undefined;
  let proc: NodeProcess | undefined;
  after(async () => {
    proc?.kill();
    await broker?.service.stop();
  });

  it('connects every worker to Redis as a node of its own: both are listed, and a publication reaches subscribers on both', async () => {
    broker = await startSharedBroker('redis');
    proc = await startProcess(['--workers', '2', '--api.insecure', 'true', ...broker.args, ...fastCluster]);
    const id = (await waitForLog(proc, (e) => e.event === 'workers.started', 60_000)).node;
    await waitUntil(async () => ((await get(`${proc!.url}/api/nodes`)).body.nodes as unknown[]).length === 2, 10_000, 'both workers in the node list');
    const listed = ((await get(`${proc.url}/api/nodes`)).body.nodes as { id: string }[]).map((n) => n.id).sort();
    assert.deepEqual(listed, [`${id}/w1`, `${id}/w2`]);
    const clients: WsClient[] = [];
    const nodes = new Set<string>();
    try {
      while (nodes.size < 2 && clients.length < 20) {
        const client = await connectWs(`${wsUrl(proc)}/ws?channels=news`);
        clients.push(client);
        nodes.add((await client.next((f) => f.type === 'welcome')).node);
        await client.next((f) => f.type === 'subscribed');
      }
      assert.equal(nodes.size, 2, 'subscribers on both workers');
      assert.equal((await post(`${proc.url}/api/publish`, { channel: 'news', data: 'to all' })).status, 200);
      for (const client of clients) assert.equal((await client.next((f) => f.type === 'message')).data, 'to all');
    } finally {
      for (const client of clients) client.close();
    }
  });
});

describe('workers that cannot start', () => {
  it('stop the primary with their exit code and the reason on stderr, instead of being started again for ever', async () => {
    const port = await freePort();
    const taken = http.createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const result = await runCli(['serve', '--workers', '2', '--host', '127.0.0.1', '--port', String(port), '--api.insecure', 'true'], {}, 60_000);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, new RegExp(String(port)));
      assert.ok(!result.stdout.includes('"workers.died"'), 'no worker was started again');
      assert.match(result.stdout, /"workers\.start_failed"/);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
