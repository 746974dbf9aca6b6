import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNode, type TestNode } from '../../helpers/node.js';
import { freePort } from '../../helpers/services.js';

describe('Metrics on a separate admin port with metrics.port', () => {
  let t: TestNode;
  let port: number;
  before(async () => {
    port = await freePort();
    t = await startNode({ 'metrics.port': port });
  });
  after(() => t.stop());

  it('serves /metrics on metrics.port', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^# TYPE switchboard_sessions gauge$/m);
  });

  it('no longer serves /metrics on the client port', async () => {
    const res = await fetch(`${t.url}/metrics`);
    assert.equal(res.status, 404);
  });

  it('answers 404 for anything else on the admin port', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/info`);
    assert.equal(res.status, 404);
  });
});
