import assert from 'node:assert/strict';
import { it } from 'node:test';
import { startHookServer } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { get, startNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

it("a failing backend's breaker opens, refuses at once, lets one probe through and closes when it succeeds", async (t) => {
  let healthy = false;
  const backend = await startHookServer(() => (healthy ? { body: { ok: true } } : { status: 500, body: { error: 'down for maintenance' } }));
  const node = await startNode({
    'routing.backends': { flaky: backend.url },
    'routing.routes': [{ key: '$default', backend: 'flaky' }],
    'routing.breaker.failures': 3,
    'routing.breaker.openFor': '400ms',
  });
  const client = await connectWs(`${node.wsUrl}/ws`);
  t.after(async () => {
    client.close();
    await node.stop();
    await backend.stop();
  });
  let n = 0;
  const ask = async () => {
    const id = ++n;
    client.send({ type: 'send', id, data: {} });
    return (await client.next((f) => f.type === 'reply' && f.id === id)).error?.code ?? 'ok';
  };
  const breaker = async () => (await scrape(node.url)).value('switchboard_backend_breaker_state', { backend: 'flaky' });

  for (let i = 0; i < 3; i++) assert.equal(await ask(), 'backend_error');
  assert.equal(await breaker(), 2);
  assert.equal((await get(`${node.url}/api/routes`)).body.backends[0].breaker, 'open');

  // Open: refused at once, the backend is not called.
  const calls = backend.calls.length;
  assert.equal(await ask(), 'unavailable');
  assert.equal(backend.calls.length, calls);
  assert.equal((await scrape(node.url)).value('switchboard_backend_calls_total', { backend: 'flaky', outcome: 'breaker_open' }), 1);

  // Half-open: the probe fails, so the breaker opens again.
  await new Promise((r) => setTimeout(r, 450));
  assert.equal(await ask(), 'backend_error');
  assert.equal(backend.calls.length, calls + 1);
  assert.equal(await breaker(), 2);
  assert.equal(await ask(), 'unavailable');

  // Half-open again: the backend is back, the probe succeeds and the breaker closes.
  healthy = true;
  await new Promise((r) => setTimeout(r, 450));
  assert.equal(await ask(), 'ok');
  assert.equal(await breaker(), 0);
  assert.equal(await ask(), 'ok');
});

it('client errors from a backend (4xx) do not open its breaker', async (t) => {
  const backend = await startHookServer(() => ({ status: 403, body: { message: 'not allowed' } }));
  const node = await startNode({
    'routing.backends': { strict: backend.url },
    'routing.routes': [{ key: '$default', backend: 'strict' }],
    'routing.breaker.failures': 2,
  });
  const client = await connectWs(`${node.wsUrl}/ws`);
  t.after(async () => {
    client.close();
    await node.stop();
    await backend.stop();
  });
  for (let id = 1; id <= 4; id++) {
    client.send({ type: 'send', id, data: {} });
    assert.equal((await client.next((f) => f.type === 'reply' && f.id === id)).error.code, 'forbidden');
  }
  assert.equal(backend.calls.length, 4);
});
