import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hmacToken } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { request } from '../../helpers/http.js';
import { startProcess, type NodeProcess } from '../../helpers/node.js';
import { cleanEnv } from '../../helpers/cli.js';

const adminKey = 'adm1n-k3y-7f3c9e1d';
const publishKey = 'pub1ish-k3y-b2a4d8e0';
const wrongKey = 'wr0ng-k3y-5d1e9a7c';
const jwtSecret = 'jwt-s3cret-c4e8f2a6';

describe('API keys and token secrets never appear in the logs', () => {
  let proc: NodeProcess;
  let clientToken: string;
  before(async () => {
    proc = await startProcess(
      ['--log.level', 'trace'],
      cleanEnv({ SWITCHBOARD_API_KEYS: adminKey, SWITCHBOARD_API_PUBLISH_KEYS: publishKey, SWITCHBOARD_AUTH_JWT_SECRETS: jwtSecret }),
    );
    clientToken = await hmacToken(jwtSecret, { sub: 'logged-user' }, { expiresIn: 600 });
  });
  after(async () => {
    proc.kill();
    await proc.exited;
  });

  it('logs none of the keys, right or wrong, in any line, at the most verbose level', async () => {
    const calls: [string, string, Record<string, string>, unknown?][] = [
      ['POST', '/api/publish', { authorization: `Bearer ${wrongKey}` }, { channel: 'news', data: 1 }],
      ['POST', '/api/publish', { 'x-api-key': wrongKey }, { channel: 'news', data: 1 }],
      ['POST', '/api/publish', { authorization: `Bearer ${adminKey}` }, { channel: 'news', data: 1 }],
      ['POST', '/api/publish', { 'x-api-key': publishKey }, { channel: 'news', data: 1 }],
      ['GET', '/api/sessions', { 'x-api-key': publishKey }],
      ['POST', '/api/publish', { authorization: `Bearer ${adminKey}` }, '{not json'],
      ['GET', '/api/nowhere', { authorization: `Bearer ${adminKey}` }],
      ['POST', '/api/revocations', { authorization: `Bearer ${adminKey}` }, { user: 'another-user', expiresIn: 60 }],
    ];
    const statuses = [];
    for (const [method, path, headers, body] of calls) statuses.push((await request(method, `${proc.url}${path}`, { headers, body })).status);
    assert.deepEqual(statuses, [401, 401, 200, 200, 403, 400, 404, 200]);
    // A client session with a token in the URL, opened and closed, logs too at trace level.
    const ws = await connectWs(`${proc.url.replace('http', 'ws')}/ws?token=${clientToken}`);
    await ws.next((f) => f.type === 'welcome');
    ws.ws.close();
    await ws.closed;
    await new Promise((r) => setTimeout(r, 200));
    proc.child.kill('SIGTERM');
    await proc.exited;
    assert.ok(proc.lines.length > 3, 'the process did log');
    for (const secret of [adminKey, publishKey, wrongKey, jwtSecret, clientToken]) {
      const leaking = proc.lines.filter((line) => line.includes(secret));
      assert.deepEqual(leaking, [], `a log line contains ${secret.slice(0, 6)}...`);
    }
  });
});
