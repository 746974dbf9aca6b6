import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnOwned } from '../../helpers/processes.js';
import { exitOf } from '../../helpers/services.js';
import { requireTool, tool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

/**
 * A test file that is stopped while its servers and nodes run leaves none of them behind: the
 * fixture file starts redis-server, nats-server, kcat's mock cluster (where kcat is installed) and
 * a switchboard node through the helpers, then hangs; it is stopped by a test timeout, by the
 * runner's SIGINT, and by a SIGKILL of its own process. Each time, no process of that run is left:
 * none found by pgrep with the run's ports, none left in the process groups it started, and
 * nothing listening on the mock cluster's ports.
 */
const fixture = fileURLToPath(new URL('../../fixtures/processes/starts-services-and-hangs.test.js', import.meta.url));

interface Report {
  redisPort: number;
  natsPort: number;
  kafkaBrokers: string[];
  pids: number[];
}

const dir = mkdtempSync(join(tmpdir(), 'switchboard-leftovers-'));
let runs = 0;

/** Starts the fixture under `node ARGS`; resolves with its report once every process of it runs. */
async function startFixture(args: string[]) {
  const report = join(dir, `report-${++runs}.json`);
  // Without this runner's NODE_TEST_CONTEXT, the fixture reports as a file run on its own does.
  const env: NodeJS.ProcessEnv = { ...process.env, FIXTURE_REPORT: report };
  delete env.NODE_TEST_CONTEXT;
  const child = spawnOwned(process.execPath, [...args, fixture], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = exitOf(child);
  let ended = false;
  void exited.then(() => (ended = true));
  await waitUntil(() => existsSync(report) || ended, 60_000, 'the fixture to start its processes');
  assert.ok(existsSync(report), `the fixture ended before starting its processes:\n${output}`);
  return { child, exited, output: () => output, report: JSON.parse(readFileSync(report, 'utf8')) as Report };
}

const pgrep = (args: string[]) => spawnSync(tool('pgrep'), args, { encoding: 'utf8' }).stdout.trim();

const listening = (hostPort: string) =>
  new Promise<boolean>((resolve) => {
    const colon = hostPort.lastIndexOf(':');
    const socket = net.connect(Number(hostPort.slice(colon + 1)), hostPort.slice(0, colon));
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** What is still running of the run that wrote this report, one line each. */
async function leftovers(report: Report): Promise<string[]> {
  const found = [
    pgrep(['-af', `redis-server.*:${report.redisPort}`]),
    pgrep(['-af', `nats-server.* -p ${report.natsPort}`]),
    pgrep(['-af', `broker.redis.url redis://127.0.0.1:${report.redisPort}`]),
    ...report.pids.map((pid) => pgrep(['-a', '-g', String(pid)])),
  ].filter(Boolean);
  for (const broker of report.kafkaBrokers) if (await listening(broker)) found.push(`something still listens on the mock cluster's ${broker}`);
  return found;
}

async function assertNothingLeft(report: Report): Promise<void> {
  let left: string[] = [];
  try {
    await waitUntil(async () => (left = await leftovers(report)).length === 0, 10_000, 'the processes of the stopped file to end');
  } catch {
    assert.fail(`still running:\n${left.join('\n')}`);
  }
}

describe('a test file stopped mid-way leaves no process behind', { skip: requireTool('redis-server', 'nats-server', 'pgrep') }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('when its test times out under the test runner', async () => {
    const run = await startFixture(['--test', '--test-timeout=20000']);
    assert.ok(run.report.pids.length >= 3, `the fixture started ${run.report.pids.length} processes`);
    assert.ok((await leftovers(run.report)).length >= 3, 'the check finds the running processes');
    await run.exited;
    assert.match(run.output(), /# cancelled 1/);
    await assertNothingLeft(run.report);
  });

  it('when the test runner is interrupted (SIGINT) and stops the file', async () => {
    const run = await startFixture(['--test']);
    run.child.kill('SIGINT');
    await run.exited;
    await assertNothingLeft(run.report);
  });

  it("when the file's process is killed with SIGKILL", async () => {
    const run = await startFixture([]);
    run.child.kill('SIGKILL');
    await run.exited;
    await assertNothingLeft(run.report);
  });
});
