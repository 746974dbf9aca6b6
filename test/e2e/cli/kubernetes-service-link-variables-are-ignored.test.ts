import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli, waitForLog } from '../../helpers/cli.js';
import { get, startProcess } from '../../helpers/node.js';

/** What Kubernetes injects into every pod of a namespace with a Service named `switchboard`. */
const serviceLinks = {
  SWITCHBOARD_PORT: 'tcp://10.0.0.1:8080',
  SWITCHBOARD_SERVICE_HOST: '10.0.0.1',
  SWITCHBOARD_SERVICE_PORT: '8080',
  SWITCHBOARD_SERVICE_PORT_HTTP: '8080',
  SWITCHBOARD_PORT_8080_TCP: 'tcp://10.0.0.1:8080',
  SWITCHBOARD_PORT_8080_TCP_ADDR: '10.0.0.1',
  SWITCHBOARD_PORT_8080_TCP_PORT: '8080',
  SWITCHBOARD_PORT_8080_TCP_PROTO: 'tcp',
};

describe('Kubernetes service link variables', () => {
  it('are ignored with one warning: the node starts and serves', async () => {
    const proc = await startProcess(['--api.insecure', 'true'], serviceLinks);
    try {
      const warning = await waitForLog(proc, (e) => e.event === 'config.ignored_env');
      assert.match(warning.msg, /SWITCHBOARD_PORT\b/);
      assert.deepEqual([...warning.names].sort(), Object.keys(serviceLinks).sort());
      assert.equal(proc.lines.filter((l) => l.includes('config.ignored_env')).length, 1);
      assert.equal((await get(`${proc.url}/healthz`)).status, 200);
    } finally {
      proc.kill();
    }
  });

  it('do not hide a misspelt setting', async () => {
    const res = await runCli(['config', 'print', '--api.insecure', 'true'], { ...serviceLinks, SWITCHBOARD_SERVER_PROT: '9000' });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /environment: unknown setting SWITCHBOARD_SERVER_PROT/);
    assert.doesNotMatch(res.stderr, /unknown setting SWITCHBOARD_(PORT|SERVICE)/);
  });
});
