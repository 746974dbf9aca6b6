import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { runCli } from '../../helpers/cli.js';
import { tempYaml } from '../../helpers/config.js';

describe('switchboard serve with a bad configuration', () => {
  const files: { remove(): void }[] = [];
  after(() => {
    for (const f of files) f.remove();
  });

  it('exits with code 2 and names every bad key from flags, environment and file at once', async () => {
    const file = tempYaml('sessions:\n  heartbeatInterval: soon\n  colour: blue\n');
    files.push(file);
    const res = await runCli(['serve', '--config', file.path, '--api.keys', 'k', '--server.port', 'eighty', '--log.level', 'loud', '--no.such', 'x'], {
      SWITCHBOARD_API_MAX_BODY_BYTES: 'lots',
    });
    assert.equal(res.code, 2, res.stderr);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, /^invalid configuration:\n/);
    for (const expected of [
      'flag --server.port: expected an integer from 0 to 65535, got "eighty"',
      'flag --log.level: expected one of',
      'flag: unknown setting no.such',
      'environment SWITCHBOARD_API_MAX_BODY_BYTES: expected a size',
      `config file ${file.path}: sessions.heartbeatInterval: expected a duration`,
      `config file ${file.path}: unknown setting sessions.colour`,
    ]) {
      assert.ok(res.stderr.includes(`  - ${expected}`), `stderr names: ${expected}\n${res.stderr}`);
    }
  });

  it('exits with code 2 when no API key is configured', async () => {
    const res = await runCli(['serve', '--port', '0', '--host', '127.0.0.1']);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /api\.keys is empty/);
  });

  it('exits with code 2 for a config file that does not exist', async () => {
    const res = await runCli(['serve', '--config', 'no-such-switchboard-config.yaml', '--api.insecure', 'true']);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /config file no-such-switchboard-config\.yaml: cannot be read \(ENOENT\)/);
  });

  it('reads the config file named by SWITCHBOARD_CONFIG', async () => {
    const file = tempYaml('server:\n  port: not-a-port\n');
    files.push(file);
    const res = await runCli(['serve', '--api.insecure', 'true'], { SWITCHBOARD_CONFIG: file.path });
    assert.equal(res.code, 2, res.stderr);
    assert.ok(res.stderr.includes(`config file ${file.path}: server.port: expected an integer`), res.stderr);
  });

  it('exits with code 2 for a flag without a value', async () => {
    const res = await runCli(['serve', '--api.insecure', 'true', '--port']);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /--port needs a value/);
    assert.match(res.stderr, /Usage:/);
  });
});
