import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { runCli } from '../../helpers/cli.js';
import { get, startProcess } from '../../helpers/node.js';

const { version } = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };

describe('switchboard version, help and boolean flags', () => {
  it('prints the version from package.json for --version, -v and version', async () => {
    for (const args of [['--version'], ['-v'], ['version']]) {
      const res = await runCli(args);
      assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
      assert.equal(res.stdout, `switchboard ${version}\n`, args.join(' '));
    }
  });

  it('prints the usage for -h and help, and each command its own flags for --help', async () => {
    for (const args of [['-h'], ['help']]) {
      const res = await runCli(args);
      assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stdout, /^Usage:\n/, args.join(' '));
      assert.match(res.stdout, /switchboard serve/);
    }
    for (const args of [
      ['serve', '--help'],
      ['serve', '-h'],
      ['help', 'serve'],
    ]) {
      const res = await runCli(args);
      assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stdout, /^Usage: switchboard serve \[options\]\n/, args.join(' '));
      assert.match(res.stdout, /\n {2}--server\.port N\b.*8080/);
      assert.match(res.stdout, /\n {2}--api\.insecure \[BOOL\]/);
      assert.match(res.stdout, /\n {2}--topics\.kafka\.maxBuffered N\b/);
      assert.doesNotMatch(res.stdout, /config describe\s+list every setting/);
    }
    const print = await runCli(['config', 'print', '--help']);
    assert.equal(print.code, 0, print.stderr);
    assert.match(print.stdout, /^Usage: switchboard config print \[options\]\n/);
  });

  it('takes a boolean flag without a value as true', async () => {
    const res = await runCli(['config', 'print', '--api.insecure', '--port', '1', '--gateway.trustForwarded']);
    assert.equal(res.code, 0, res.stderr);
    const printed = parseYaml(res.stdout);
    assert.equal(printed.api.insecure, true);
    assert.equal(printed.server.port, 1);
    assert.equal(printed.gateway.trustForwarded, true);
    const off = parseYaml((await runCli(['config', 'print', '--api.insecure', '--compat.push.enabled', 'false'])).stdout);
    assert.equal(off.compat.push.enabled, false);
    const missing = await runCli(['config', 'print', '--api.insecure', '--port']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--port needs a value/);
  });

  it('shows the version in /api/info and in switchboard_build_info', async () => {
    const proc = await startProcess(['--api.insecure']);
    try {
      const info = await get(`${proc.url}/api/info`);
      assert.equal(info.body.version, version);
      const metrics = await get(`${proc.url}/metrics`);
      assert.match(metrics.text, new RegExp(`\\nswitchboard_build_info\\{version="${version.replace(/\./g, '\\.')}",node="${process.version}"\\} 1\\n`));
    } finally {
      proc.kill();
    }
  });
});
