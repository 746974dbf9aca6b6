import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitForLog } from '../../helpers/cli.js';
import { post, startProcess, type NodeProcess } from '../../helpers/node.js';

describe('the switchboard process log', () => {
  let proc: NodeProcess;
  before(async () => {
    proc = await startProcess(['--api.keys', 'log-key', '--node.id', 'logger-1']);
  });
  after(() => proc?.kill());

  it('writes one JSON object per stdout line, each with an event name, level, time and node', async () => {
    const res = await post(`${proc.url}/api/publish`, { channel: 'news', data: 1 }, { authorization: 'Bearer log-key' });
    assert.equal(res.status, 200);
    const started = await waitForLog(proc, (e) => e.event === 'node.started');
    assert.equal(started.port, proc.port);
    assert.equal(started.broker, 'memory');

    proc.child.kill('SIGTERM');
    const { code } = await proc.exited;
    assert.equal(code, 0);

    assert.ok(proc.lines.length >= 3, proc.lines.join('\n'));
    for (const line of proc.lines) {
      const entry = JSON.parse(line);
      assert.equal(typeof entry.event, 'string', line);
      assert.match(entry.event, /^[a-z_]+\.[a-z_.]+$/, line);
      assert.equal(typeof entry.level, 'string', line);
      assert.ok(!Number.isNaN(Date.parse(entry.time)), line);
      assert.equal(entry.node, 'logger-1', line);
    }
    const events = proc.lines.map((line) => JSON.parse(line).event);
    for (const event of ['node.started', 'node.signal', 'node.draining', 'node.stopped']) {
      assert.ok(events.includes(event), `logs ${event}: ${events.join(', ')}`);
    }
  });
});
