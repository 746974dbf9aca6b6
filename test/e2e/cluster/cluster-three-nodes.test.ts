import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectSse, connectWs, type SseEvent, type StreamClient, type WsClient } from '../../helpers/clients.js';
import { killAll, brokerTools, sharedBrokerKinds, startCluster, startSharedBroker, wsUrl, type SharedBroker } from '../../helpers/cluster.js';
import { request } from '../../helpers/http.js';
import { get, post, type NodeProcess } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';
import { requireTool } from '../../helpers/tools.js';

/**
 * Three `switchboard serve` processes sharing one Redis or one NATS: whatever a client or a backend
 * does on one node acts on sessions held by the others. The same scenarios run on both brokers.
 */
const namespaces = JSON.stringify({ room: { presence: true }, feed: { historySize: 100 } });

/** An SSE publication (id-only events, which carry cursors, have no data). */
const isPublication = (e: SseEvent) => e.event === 'message' && e.data !== '';

for (const kind of sharedBrokerKinds) {
  describe(`three node processes sharing ${kind}`, { skip: requireTool(brokerTools[kind]) }, () => {
    let broker: SharedBroker | undefined;
    let nodes: NodeProcess[] = [];
    let a: NodeProcess;
    let b: NodeProcess;
    let c: NodeProcess;
    /** Node ids by process. */
    const ids = new Map<NodeProcess, string>();
    const open: { close(): void }[] = [];

    before(async () => {
      broker = await startSharedBroker(kind);
      nodes = await startCluster(3, broker, ['--channels.namespaces', namespaces]);
      [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
      for (const node of nodes) ids.set(node, (await get(`${node.url}/api/info`)).body.node);
    });
    after(async () => {
      for (const client of open) client.close();
      killAll(nodes);
      await broker?.service.stop();
    });

    /** A WebSocket session on a node, once its welcome (and the subscriptions from the URL) arrived. */
    async function ws(node: NodeProcess, channels: string[] = []): Promise<WsClient & { session: string }> {
      const client = await connectWs(`${wsUrl(node)}/ws${channels.length > 0 ? `?channels=${channels.join(',')}` : ''}`);
      open.push(client);
      const welcome = await client.next((f) => f.type === 'welcome');
      assert.equal(welcome.node, ids.get(node));
      for (const channel of channels) await client.next((f) => f.type === 'subscribed' && f.channel === channel);
      return Object.assign(client, { session: welcome.session as string });
    }

    /** An SSE session on a node, once its welcome and subscriptions arrived. */
    async function sse(node: NodeProcess, channels: string[], headers: Record<string, string> = {}): Promise<StreamClient<SseEvent> & { session: string }> {
      const client = await connectSse(`${node.url}/sse?channels=${channels.join(',')}`, headers);
      open.push(client);
      assert.equal(client.status, 200);
      const welcome = JSON.parse((await client.next((e) => e.event === 'welcome')).data);
      for (const channel of channels) await client.next((e) => e.event === 'subscribed' && JSON.parse(e.data).channel === channel);
      return Object.assign(client, { session: welcome.session as string });
    }

    const sessionIds = async (node: NodeProcess, query = ''): Promise<string[]> => {
      const res = await get(`${node.url}/api/sessions${query}`);
      assert.equal(res.status, 200, res.text);
      return (res.body.sessions as { id: string }[]).map((s) => s.id).sort();
    };

    /** User-targeted calls act on every anonymous session: start those tests from an empty cluster. */
    const noSessionsLeft = () => waitUntil(async () => (await sessionIds(c)).length === 0, 5000, 'the sessions of earlier tests to close');

    it('lists all three nodes, with their URLs, on every node', async () => {
      for (const node of nodes) {
        const res = await get(`${node.url}/api/nodes`);
        assert.equal(res.status, 200);
        const listed = res.body.nodes as { id: string; url: string; state: string }[];
        assert.equal(listed[0]!.id, ids.get(node), 'the answering node comes first');
        assert.deepEqual(listed.map((n) => n.id).sort(), [...ids.values()].sort());
        assert.deepEqual(listed.map((n) => n.url).sort(), nodes.map((n) => n.url).sort());
        for (const n of listed) assert.equal(n.state, 'running');
      }
    });

    it('delivers publications made on A to WebSocket subscribers on B and C and an SSE subscriber on C, in order', async () => {
      const onB = await ws(b, ['news']);
      const onC = await ws(c, ['news']);
      const sseOnC = await sse(c, ['news']);
      const first = await post(`${a.url}/api/publish`, { channel: 'news', data: { text: 'hello', n: 0 } });
      assert.equal(first.status, 200);
      // The count is of the receiving node's subscribers: A has none.
      assert.deepEqual(first.body, { channel: 'news', subscribers: 0 });
      for (let n = 1; n < 20; n++) assert.equal((await post(`${a.url}/api/publish`, { channel: 'news', data: { text: 'hello', n } })).status, 200);

      const expected = Array.from({ length: 20 }, (_, n) => ({ text: 'hello', n }));
      for (const client of [onB, onC]) {
        const got = [];
        for (let n = 0; n < 20; n++) got.push(await client.next((f) => f.type === 'message'));
        assert.deepEqual(
          got,
          expected.map((data) => ({ type: 'message', channel: 'news', data })),
        );
      }
      const events = [];
      for (let n = 0; n < 20; n++) events.push(await sseOnC.next(isPublication));
      assert.deepEqual(
        events.map((e) => JSON.parse(e.data)),
        expected.map((data) => ({ channel: 'news', data })),
      );
      for (const client of [onB, onC, sseOnC]) client.close();
    });

    it('lists on C the sessions held by A and B, and finds each by id', async () => {
      const onA = await ws(a, ['listed']);
      const onB = await ws(b, ['listed']);
      const all = await sessionIds(c);
      assert.ok(all.includes(onA.session) && all.includes(onB.session), JSON.stringify(all));
      assert.deepEqual(await sessionIds(c, '?channel=listed'), [onA.session, onB.session].sort());
      for (const [client, node] of [
        [onA, a],
        [onB, b],
      ] as const) {
        const found = await get(`${c.url}/api/sessions/${client.session}`);
        assert.equal(found.status, 200);
        assert.equal(found.body.id, client.session);
        assert.equal(found.body.node, ids.get(node));
        assert.equal(found.body.transport, 'ws');
        assert.deepEqual(found.body.channels, ['listed']);
      }
      const unknown = await get(`${c.url}/api/sessions/no-such-session`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'not_found');
      onA.close();
      onB.close();
    });

    it('disconnects from C a session held on A: the client gets a disconnect frame and close 4000', async () => {
      const onA = await ws(a);
      const res = await request('DELETE', `${c.url}/api/sessions/${onA.session}?reason=moving%20you`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { disconnected: onA.session, reason: 'moving you' });
      assert.deepEqual(await onA.next((f) => f.type === 'disconnect'), { type: 'disconnect', code: 4000, reason: 'moving you' });
      assert.deepEqual(await onA.closed, { code: 4000, reason: 'moving you' });
      await waitUntil(async () => (await get(`${c.url}/api/sessions/${onA.session}`)).status === 404, 5000, 'the session to be gone from the cluster');
    });

    it('sends from C a message to a session held on A', async () => {
      const onA = await ws(a);
      const res = await post(`${c.url}/api/sessions/${onA.session}/messages`, { data: { note: 'from C', n: [1, 2] } });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { sessions: 1 });
      assert.deepEqual(await onA.next((f) => f.type === 'message'), { type: 'message', data: { note: 'from C', n: [1, 2] } });
      onA.close();
    });

    it("subscribes and unsubscribes from C a user's sessions held on A and B, server-side", async () => {
      await noSessionsLeft();
      const onA = await ws(a);
      const onB = await ws(b);
      // Anonymous sessions all belong to the user "" until clients authenticate.
      const subscribed = await post(`${c.url}/api/users//subscribe`, { channel: 'alerts' });
      assert.equal(subscribed.status, 200);
      assert.deepEqual(subscribed.body, { sessions: 2 });
      for (const client of [onA, onB]) assert.deepEqual(await client.next((f) => f.type === 'subscribed'), { type: 'subscribed', channel: 'alerts' });
      assert.equal((await post(`${c.url}/api/publish`, { channel: 'alerts', data: 'fire drill' })).status, 200);
      for (const client of [onA, onB]) assert.deepEqual(await client.next((f) => f.type === 'message'), { type: 'message', channel: 'alerts', data: 'fire drill' });

      const listed = await get(`${c.url}/api/users//sessions`);
      assert.deepEqual((listed.body.sessions as { id: string }[]).map((s) => s.id).sort(), [onA.session, onB.session].sort());

      const unsubscribed = await post(`${c.url}/api/users//unsubscribe`, { channel: 'alerts' });
      assert.deepEqual(unsubscribed.body, { sessions: 2 });
      for (const client of [onA, onB]) {
        assert.deepEqual(await client.next((f) => f.type === 'unsubscribed'), { type: 'unsubscribed', channel: 'alerts', reason: 'server' });
      }
      const channels = await get(`${c.url}/api/channels?prefix=alerts`);
      assert.deepEqual(channels.body.channels, []);
      onA.close();
      onB.close();
    });

    it('keeps presence as the union of all nodes and sends join and leave to subscribers on other nodes', async () => {
      const channel = 'room:lobby';
      const onA = await ws(a, [channel]);
      const onB = await ws(b);
      onB.send({ type: 'subscribe', id: 1, channel });
      await onB.next((f) => f.type === 'subscribed' && f.id === 1);
      // A join is announced after the session's `subscribed` frame, so onA's own join may still reach onB: wait for the one meant.
      assert.deepEqual(await onA.next((f) => f.type === 'join' && f.session === onB.session), { type: 'join', channel, user: '', session: onB.session });
      const sseOnC = await sse(c, [channel]);
      for (const client of [onA, onB]) {
        assert.deepEqual(await client.next((f) => f.type === 'join' && f.session === sseOnC.session), { type: 'join', channel, user: '', session: sseOnC.session });
      }

      const expected = [
        { session: onA.session, user: '', node: ids.get(a) },
        { session: onB.session, user: '', node: ids.get(b) },
        { session: sseOnC.session, user: '', node: ids.get(c) },
      ].sort((x, y) => (x.session < y.session ? -1 : 1));
      for (const node of nodes) {
        const presence = await get(`${node.url}/api/channels/${channel}/presence`);
        assert.equal(presence.status, 200, presence.text);
        assert.equal(presence.body.channel, channel);
        assert.deepEqual(
          [...presence.body.members].sort((x: { session: string }, y: { session: string }) => (x.session < y.session ? -1 : 1)),
          expected,
        );
        const stats = await get(`${node.url}/api/channels/${channel}/presence-stats`);
        assert.deepEqual(stats.body, { channel, sessions: 3, users: 1 });
      }

      onB.send({ type: 'unsubscribe', id: 2, channel });
      await onB.next((f) => f.type === 'unsubscribed' && f.id === 2);
      assert.deepEqual(await onA.next((f) => f.type === 'leave'), { type: 'leave', channel, user: '', session: onB.session });
      assert.deepEqual(JSON.parse((await sseOnC.next((e) => e.event === 'leave')).data), { type: 'leave', channel, user: '', session: onB.session });
      sseOnC.close();
      assert.deepEqual(await onA.next((f) => f.type === 'leave'), { type: 'leave', channel, user: '', session: sseOnC.session });
      const members = async () => ((await get(`${b.url}/api/channels/${channel}/presence`)).body.members as { session: string }[]).map((m) => m.session);
      await waitUntil(async () => (await members()).length === 1, 5000, "the member list to shrink to A's session");
      assert.deepEqual(await members(), [onA.session]);
      // Nobody is told about itself.
      assert.equal(onB.inbox.all.filter((f) => (f.type === 'join' || f.type === 'leave') && f.session === onB.session).length, 0);
      onA.close();
      onB.close();
    });

    it('sums the subscriber counts of every node in GET /api/channels, on any node', async () => {
      await ws(a, ['count-x']);
      await ws(a, ['count-x']);
      await ws(b, ['count-x', 'count-y']);
      await sse(c, ['count-y']);
      for (const node of nodes) {
        const res = await get(`${node.url}/api/channels?prefix=count-`);
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, {
          nodes: 3,
          channels: [
            { channel: 'count-x', subscribers: 3 },
            { channel: 'count-y', subscribers: 2 },
          ],
        });
      }
      // A publish answers the receiving node's own subscribers only.
      assert.deepEqual((await post(`${a.url}/api/publish`, { channel: 'count-x', data: 1 })).body, { channel: 'count-x', subscribers: 2 });
      assert.deepEqual((await post(`${c.url}/api/publish`, { channel: 'count-x', data: 2 })).body, { channel: 'count-x', subscribers: 0 });
      for (const client of open.splice(0)) client.close();
    });

    it('recovers across nodes: a client that left A resumes on B with since and gets exactly what it missed', async () => {
      const channel = 'feed:scores';
      const onA = await ws(a);
      onA.send({ type: 'subscribe', id: 1, channel });
      const joined = await onA.next((f) => f.type === 'subscribed' && f.id === 1);
      const published: { data: unknown; offset: number; epoch: string }[] = [];
      const publish = async (node: NodeProcess, data: unknown) => {
        const res = await post(`${node.url}/api/publish`, { channel, data });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        published.push({ data, offset: res.body.offset, epoch: res.body.epoch });
      };
      for (let i = 0; i < 3; i++) await publish(c, { goal: i });
      const seen = [];
      for (let i = 0; i < 3; i++) seen.push(await onA.next((f) => f.type === 'message'));
      assert.deepEqual(
        seen,
        published.map((p) => ({ type: 'message', channel, ...p })),
      );
      assert.equal(seen[0].offset, joined.offset + 1);
      const last = { offset: seen[2].offset as number, epoch: seen[2].epoch as string };
      onA.close();
      await onA.closed;

      // Publications go on, from several nodes, while the client is away.
      for (let i = 3; i < 7; i++) await publish(nodes[i % 3]!, { goal: i });
      const missed = published.slice(3);

      const onB = await ws(b);
      onB.send({ type: 'subscribe', id: 'resume', channel, since: last });
      const resumed = await onB.next((f) => f.type === 'subscribed');
      assert.deepEqual(resumed, { type: 'subscribed', id: 'resume', channel, recovered: true, offset: last.offset + 4, epoch: last.epoch, replayed: 4 });
      await publish(a, { goal: 'live' });
      const after = [];
      for (let i = 0; i < 5; i++) after.push(await onB.next((f) => f.type === 'message'));
      assert.deepEqual(
        after,
        [...missed, published[7]].map((p) => ({ type: 'message', channel, ...p })),
      );

      // The same with SSE: the Last-Event-ID a stream on A ended with resumes it on C.
      const sseOnA = await sse(a, [channel]);
      await publish(b, { goal: 'sse-1' });
      await sseOnA.next((e) => isPublication(e) && JSON.parse(e.data).data.goal === 'sse-1');
      const cursor = await sseOnA.next((e) => e.id !== undefined && e.id.endsWith(`~${published[8]!.offset}~${published[8]!.epoch}`));
      sseOnA.close();
      await publish(b, { goal: 'sse-2' });
      await publish(a, { goal: 'sse-3' });
      const sseOnC = await sse(c, [channel], { 'last-event-id': cursor.id! });
      const replayed = [];
      for (let i = 0; i < 2; i++) replayed.push(JSON.parse((await sseOnC.next(isPublication)).data));
      assert.deepEqual(
        replayed,
        published.slice(9).map((p) => ({ channel, ...p })),
      );
      onB.close();
      sseOnC.close();
    });
  });
}
