import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../../helpers/cli.js';

describe('switchboard command line usage', () => {
  it('prints usage and exits 0 for --help', async () => {
    const commands = [['--help'], ['serve', '--help'], ['config', 'print', '--help']];
    const results = await Promise.all(commands.map((args) => runCli(args)));
    for (const [i, args] of commands.entries()) {
      const res = results[i]!;
      assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stdout, /^Usage:/m, args.join(' '));
      assert.match(res.stdout, /switchboard (serve|config print)/);
      assert.match(res.stdout, /Exit codes: 0 done, 1 failed while running, 2 bad command line or configuration/);
    }
  });

  it('exits 2 with the usage for an unknown command', async () => {
    const res = await runCli(['launch']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /^unknown command: launch\n/);
    assert.match(res.stderr, /Usage:/);
  });

  it('exits 2 for a command with a wrong or missing part', async () => {
    const commands = [['config'], ['config', 'frobnicate'], ['serve', 'now'], []];
    const results = await Promise.all(commands.map((args) => runCli(args)));
    for (const [i, args] of commands.entries()) {
      const res = results[i]!;
      assert.equal(res.code, 2, `${JSON.stringify(args)}: ${res.stderr}`);
      assert.match(res.stderr, /Usage:/);
    }
  });
});
