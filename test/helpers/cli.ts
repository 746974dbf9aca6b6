import type { NodeProcess } from './node.js';
import { cliPath } from './node.js';
import { spawnOwned } from './processes.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment of this process without any SWITCHBOARD_* variable, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('SWITCHBOARD_')) env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * Runs the CLI with these arguments to completion. A command that should exit but does not (for
 * instance `serve` accepting a config the test meant to be bad) is killed after timeoutMs.
 */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 10_000): Promise<CliResult> {
  const child = spawnOwned(process.execPath, [cliPath, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Resolves with the first JSON log line of the process (already seen or still to come) that matches. */
export function waitForLog(proc: NodeProcess, match: (entry: any) => boolean, timeoutMs = 5000): Promise<any> {
  const find = (lines: string[]) => {
    for (const line of lines) {
      try {
        const entry = JSON.parse(line);
        if (match(entry)) return entry;
      } catch {
        // not a log line
      }
    }
    return undefined;
  };
  const seen = find(proc.lines);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    let checked = proc.lines.length;
    const onData = () => {
      // The helper that collects lines listens first, so proc.lines already holds this chunk's lines.
      const entry = find(proc.lines.slice(checked));
      checked = proc.lines.length;
      if (entry) {
        cleanup();
        resolve(entry);
      }
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`process exited before the log line appeared; lines: ${proc.lines.slice(-10).join('\n')}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for a log line; lines: ${proc.lines.slice(-10).join('\n')}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      proc.child.stdout!.off('data', onData);
      proc.child.off('exit', onExit);
    };
    proc.child.stdout!.on('data', onData);
    proc.child.once('exit', onExit);
  });
}
