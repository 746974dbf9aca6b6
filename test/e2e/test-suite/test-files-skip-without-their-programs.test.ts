import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnOwned } from '../../helpers/processes.js';

/**
 * On a machine without kcat, HAProxy, nginx or Chromium (here: with TEST_HIDE_TOOLS naming them),
 * the files that need them skip at once, each with one line naming the Debian package, instead of
 * waiting for a server that never starts.
 */
const files: [string, string][] = [
  ['integration/bridges/malformed-bridged-records-are-skipped-and-counted.test.js', 'kcat'],
  ['integration/topics/topic-store-contract-kafka.test.js', 'kcat'],
  ['e2e/load-balancers/load-balancer-haproxy.test.js', 'haproxy'],
  ['e2e/load-balancers/load-balancer-nginx.test.js', 'nginx'],
  ['e2e/browser/demo-page.test.js', 'chromium'],
];

it('skips the files that need kcat, haproxy, nginx or chromium with one line each when they are missing', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, TEST_HIDE_TOOLS: 'kcat,haproxy,nginx,chromium' };
  delete env.NODE_TEST_CONTEXT;
  const paths = files.map(([file]) => fileURLToPath(new URL(`../../${file}`, import.meta.url)));
  const child = spawnOwned(process.execPath, ['--test', '--test-reporter=tap', '--test-concurrency=1', ...paths], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, output);
  const skips = output.split('\n').filter((line) => /^ok \d+ - .* # SKIP /.test(line));
  assert.equal(skips.length, files.length, output);
  for (const [, program] of files) {
    assert.ok(
      skips.some((line) => line.endsWith(`# SKIP needs ${program}: install the Debian package ${program} (.ci/run installs it)`)),
      `no skip line for ${program}:\n${skips.join('\n')}`,
    );
  }
  assert.match(output, /^# tests 0$/m, 'no test ran');
});
