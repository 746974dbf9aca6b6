import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { cleanEnv, waitForLog } from '../../helpers/cli.js';
import { connectWs } from '../../helpers/clients.js';
import { tempYaml } from '../../helpers/config.js';
import { post, startProcess, type NodeProcess } from '../../helpers/node.js';
import { npm, repoRoot } from '../../helpers/npm.js';
import { spawnOwned } from '../../helpers/processes.js';
import { waitUntil } from '../../helpers/wait.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `npm start` (without its build step) on a free loopback port; resolves once the node listens. */
async function npmStart(): Promise<NodeProcess> {
  const child = spawnOwned(npm, ['start', '--ignore-scripts'], {
    cwd: repoRoot,
    env: cleanEnv({ SWITCHBOARD_SERVER_HOST: '127.0.0.1', SWITCHBOARD_SERVER_PORT: '0', SWITCHBOARD_SHUTDOWN_DRAIN_WINDOW: '300ms' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const proc: NodeProcess = { child, url: '', port: 0, lines, exited, kill: () => child.kill('SIGKILL') };
  const started = await waitForLog(proc, (e) => e.event === 'node.started', 30_000);
  return { ...proc, port: started.port, url: `http://127.0.0.1:${started.port}` };
}

describe('signals', () => {
  it('SIGTERM to `npm start` reaches the node: it drains and no process is left', async () => {
    const proc = await npmStart();
    const nodePid = (await waitForLog(proc, (e) => e.event === 'node.started')).pid as number;
    try {
      assert.notEqual(nodePid, proc.child.pid);
      proc.child.kill('SIGTERM');
      await waitForLog(proc, (e) => e.event === 'node.signal' && e.signal === 'SIGTERM');
      await waitForLog(proc, (e) => e.event === 'node.draining');
      await waitForLog(proc, (e) => e.event === 'node.stopped', 10_000);
      await proc.exited;
      await waitUntil(() => !isAlive(nodePid), 5000, 'the node process to be gone');
    } finally {
      if (isAlive(nodePid)) process.kill(nodePid, 'SIGKILL');
      proc.kill();
    }
  });

  it('SIGHUP is logged and reloads the config file while sessions stay open', async () => {
    const file = tempYaml('log:\n  level: info\n');
    const proc = await startProcess(['--config', file.path, '--api.insecure', 'true']);
    try {
      const ws = await connectWs(`${proc.url.replace('http', 'ws')}/ws?channels=live`);
      await ws.next((f) => f.type === 'welcome');
      proc.child.kill('SIGHUP');
      await waitForLog(proc, (e) => e.event === 'node.signal' && e.signal === 'SIGHUP');
      const reloaded = await waitForLog(proc, (e) => e.event === 'node.reloaded');
      assert.ok(reloaded.parts.includes('log.level'), JSON.stringify(reloaded));
      assert.equal((await post(`${proc.url}/api/publish`, { channel: 'live', data: 'after reload' })).status, 200);
      assert.equal((await ws.next((f) => f.type === 'message')).data, 'after reload');
      assert.equal(proc.child.exitCode, null);
      ws.close();
    } finally {
      proc.kill();
      file.remove();
    }
  });
});
