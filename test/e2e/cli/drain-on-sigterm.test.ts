import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectSse, connectWs, type WsClient } from '../../helpers/clients.js';
import { waitForLog } from '../../helpers/cli.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { get, post, startProcess, type NodeProcess } from '../../helpers/node.js';

const drainWindowMs = 1000;
const graceMs = 1000;

describe('graceful drain on SIGTERM', () => {
  let proc: NodeProcess;
  before(async () => {
    proc = await startProcess(['--api.insecure', 'true', '--shutdown.drainWindow', `${drainWindowMs}ms`, '--sessions.closeGracePeriod', `${graceMs}ms`]);
  });
  after(() => proc?.kill());

  it('stops accepting, spreads reconnects over the window, keeps delivering, and exits 0', async () => {
    const wsUrl = proc.url.replace('http', 'ws');
    const natives: WsClient[] = [];
    for (let i = 0; i < 6; i++) natives.push(await connectWs(`${wsUrl}/ws?channels=live`));
    const push = await connectWs(`${wsUrl}/ws/messages?channels=live`);
    const sse = await connectSse(`${proc.url}/sse?channels=live`);
    try {
      for (const ws of natives) await ws.next((f) => f.type === 'welcome');
      await push.next((f) => f.event === 'ping');
      await sse.next((e) => e.event === 'welcome');
      assert.equal((await get(`${proc.url}/readyz`)).status, 200);

      // Arrival times of each native client's reconnect frame and close, relative to SIGTERM.
      const reconnects: { at: number; frame: any; close: Promise<{ code: number; reason: string }> }[] = [];
      const signalled = Date.now();
      const watched = natives.map(async (ws) => {
        const frame = await ws.next((f) => f.type === 'reconnect', drainWindowMs + graceMs + 3000);
        reconnects.push({ at: Date.now() - signalled, frame, close: ws.closed });
      });
      proc.child.kill('SIGTERM');
      await waitForLog(proc, (e) => e.event === 'node.draining');

      // Readiness turns false at once and new connections are refused.
      const ready = await get(`${proc.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(ready.body.status, 'draining');
      await assert.rejects(connectWs(`${wsUrl}/ws?channels=live`), (err: Error & { status?: number; body?: string }) => {
        assert.equal(err.status, 503);
        assertErrorBody(JSON.parse(err.body!), 'unavailable');
        return true;
      });
      const refusedSse = await request('GET', `${proc.url}/sse?channels=live`);
      assert.equal(refusedSse.status, 503);
      assertErrorBody(refusedSse.body, 'unavailable');

      // The API keeps serving: a publication during the drain reaches the clients still connected.
      const published = await post(`${proc.url}/api/publish`, { channel: 'live', data: 'during drain' });
      assert.equal(published.status, 200);

      await Promise.all(watched);
      const exited = await proc.exited;
      const exitedAfter = Date.now() - signalled;
      assert.equal(exited.code, 0);
      assert.ok(exitedAfter < drainWindowMs + graceMs + 1500, `exited ${exitedAfter} ms after SIGTERM`);

      // Every native client was told to reconnect, then closed with 4000, within the window.
      assert.equal(reconnects.length, natives.length);
      for (const r of reconnects) {
        assert.equal(r.frame.reason, 'shutdown');
        assert.equal(typeof r.frame.after, 'number');
        assert.ok(r.frame.after >= 0 && r.frame.after <= 1000, `after ${r.frame.after}`);
        assert.ok(r.at <= drainWindowMs + graceMs, `reconnect ${r.at} ms after SIGTERM`);
        assert.deepEqual(await r.close, { code: 4000, reason: 'shutdown' });
      }
      // ...spread over the window rather than all at once.
      const times = reconnects.map((r) => r.at).sort((a, b) => a - b);
      assert.ok(times[times.length - 1]! - times[0]! > 50, `reconnects spread: ${times.join(', ')}`);

      // Clients still connected when the publication was accepted received it, before their reconnect.
      let reached = 0;
      for (const ws of natives) {
        const frames = ws.inbox.all.filter((f) => f.type === 'message' || f.type === 'reconnect');
        const message = frames.findIndex((f) => f.type === 'message');
        if (message === -1) continue;
        reached++;
        assert.deepEqual(frames[message], { type: 'message', channel: 'live', data: 'during drain' });
        assert.ok(message < frames.findIndex((f) => f.type === 'reconnect'), 'the message came before the reconnect');
      }
      const pushReached = push.inbox.all.some((f) => f.event === 'message');
      const sseReached = sse.inbox.all.some((e) => e.event === 'message');
      assert.ok(reached + Number(pushReached) + Number(sseReached) >= 1, 'some client received the publication sent during the drain');
      assert.ok(published.body.subscribers >= reached + Number(pushReached) + Number(sseReached));

      // The Push client is closed as going away; the SSE client is told to reconnect and its stream ends.
      assert.equal((await push.closed).code, 1001);
      await sse.ended;
      assert.equal(JSON.parse((await sse.next((e) => e.event === 'reconnect')).data).reason, 'shutdown');
    } finally {
      for (const ws of natives) ws.close();
      push.close();
      sse.close();
    }
  });
});
