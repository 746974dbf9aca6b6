import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { runCli } from '../../helpers/cli.js';
import { get, post, startProcess } from '../../helpers/node.js';
import { repoRoot } from '../../helpers/npm.js';

const example = join(repoRoot, 'switchboard.example.yaml');

describe('switchboard.example.yaml', () => {
  it('is a valid configuration: config print reads it and shows its settings', async () => {
    const res = await runCli(['config', 'print', '--config', example]);
    assert.equal(res.code, 0, res.stderr);
    const printed = parse(res.stdout) as { server: { host: string; port: number }; auth: { anonymous: boolean }; channels: { namespaces: Record<string, { presence: boolean }> } };
    assert.deepEqual([printed.server.host, printed.server.port, printed.auth.anonymous], ['127.0.0.1', 8080, false]);
    assert.equal(printed.channels.namespaces.chat?.presence, true);
  });

  it('starts a node with serve --config (on a free port instead of 8080) whose API takes the key in the file', async () => {
    const node = await startProcess(['--config', example]);
    try {
      assert.equal((await get(`${node.url}/readyz`)).status, 200);
      const refused = await post(`${node.url}/api/publish`, { channel: 'news', data: 'hi' });
      assert.equal(refused.status, 401);
      const published = await post(`${node.url}/api/publish`, { channel: 'chat:lobby', data: 'hi' }, { authorization: 'Bearer change-me' });
      assert.equal(published.status, 200);
      assert.equal(typeof published.body.offset, 'number', 'chat keeps history, as the file says');
    } finally {
      node.kill();
    }
  });
});
