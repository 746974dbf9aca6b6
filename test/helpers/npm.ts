import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { spawnOwned } from './processes.js';

/** The repository root (this module runs from dist/test/helpers/). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs a command to its end and returns its exit code and output; it never reaches the network for npm (offline). */
export async function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnOwned(command, args, {
    cwd,
    env: { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** The npm that came with this node, for `npm pack` and `npm install`. */
export const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
