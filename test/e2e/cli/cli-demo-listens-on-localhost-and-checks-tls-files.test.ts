import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { cleanEnv, runCli } from '../../helpers/cli.js';
import { cliPath, startProcess } from '../../helpers/node.js';
import { spawnOwned } from '../../helpers/processes.js';
import { certificateDir, servedName } from '../../helpers/tls.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

describe('switchboard serve --demo listens on this machine only, unless told otherwise', () => {
  it('binds 127.0.0.1 for --demo, and the address --host names', async () => {
    const demo = await runCli(['config', 'print', '--demo']);
    assert.match(demo.stdout, /\n {2}host: 127\.0\.0\.1\n/);
    const exposed = await runCli(['config', 'print', '--demo', '--host', '0.0.0.0']);
    assert.match(exposed.stdout, /\n {2}host: 0\.0\.0\.0\n/);
    const plain = await runCli(['config', 'print', '--api.insecure', 'true']);
    assert.match(plain.stdout, /\n {2}host: 0\.0\.0\.0\n/);
  });

  it('says in its banner that the API is open and how to expose the demo', async () => {
    const child = spawnOwned(process.execPath, [cliPath, 'serve', '--demo', '--port', '0'], {
      env: cleanEnv({ SWITCHBOARD_LOG_LEVEL: 'silent' }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    try {
      await waitUntil(() => stderr.includes('--host 0.0.0.0'), 10_000, 'the banner');
      assert.match(stderr, /demo page: {2}http:\/\/127\.0\.0\.1:\d+\//);
      assert.match(stderr, /The API is open without a key\. Only this machine can reach it/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('switchboard serve with TLS files', { skip: requireTool('openssl') }, () => {
  const certs = certificateDir();
  after(() => certs.remove());

  it('exits with code 2 and one line naming the setting for a missing, non-PEM or mismatched file', async () => {
    const first = certs.make('first');
    const second = certs.make('second');
    const junk = `${certs.dir}/junk.pem`;
    writeFileSync(junk, 'not a key\n');
    const cases: [string, string, RegExp][] = [
      [`${certs.dir}/missing.crt`, first.key, /^server\.tls\.cert: cannot read .*missing\.crt: ENOENT\n$/],
      [first.cert, junk, /^server\.tls\.key: .*junk\.pem is not a usable PEM private key: .*\n$/],
      [first.cert, second.key, /^server\.tls\.key: .*second\.key is not the private key of the certificate in .*first\.crt: .*\n$/],
    ];
    for (const [cert, key, message] of cases) {
      const res = await runCli(['serve', '--api.insecure', 'true', '--host', '127.0.0.1', '--port', '0', '--server.tls.cert', cert, '--server.tls.key', key]);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, message);
    }
    const half = await runCli(['serve', '--api.insecure', 'true', '--server.tls.cert', first.cert]);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /server\.tls\.cert and server\.tls\.key go together/);
  });

  it('reloads the certificate on SIGHUP', async () => {
    const first = certs.make('sighup-first');
    const second = certs.make('sighup-second');
    const live = { cert: `${certs.dir}/sighup.crt`, key: `${certs.dir}/sighup.key` };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    const node = await startProcess(['--api.insecure', 'true', '--server.tls.cert', live.cert, '--server.tls.key', live.key, '--server.tls.watchInterval', '0']);
    try {
      assert.equal(await servedName(node.port), 'sighup-first');
      copyFileSync(second.cert, live.cert);
      copyFileSync(second.key, live.key);
      node.child.kill('SIGHUP');
      await waitUntil(async () => (await servedName(node.port)) === 'sighup-second', 5000, 'the new certificate after SIGHUP');
      // The log line may reach the pipe a moment after the new certificate is served.
      await waitUntil(() => node.lines.some((line) => line.includes('"tls.reloaded"')), 5000, 'the tls.reloaded log line');
    } finally {
      node.kill();
    }
  });
});
