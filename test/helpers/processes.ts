import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { toolPath } from './tools.js';

/**
 * Every process a test file starts (servers, switchboard nodes, CLI runs) goes through
 * `spawnOwned`, so none outlives the file:
 * - each runs in its own process group (detached), and is killed as a group, with whatever it
 *   started itself;
 * - the file kills every group still running when its tests end (a root `after` hook: it runs even
 *   when a test timed out or was cancelled, which would otherwise leave the file's process waiting
 *   on its children for ever), when it exits, and when it gets SIGINT, SIGTERM or SIGHUP (the test
 *   runner's way to stop a file);
 * - a SIGKILL of the file's process runs no code, so each child is started through `setpriv
 *   --pdeathsig KILL` (util-linux): the kernel kills it when its parent dies. Where setpriv is
 *   missing the children are started directly and only the first three apply.
 */
const running = new Set<ChildProcess>();
const dirs = new Set<string>();
const setpriv = toolPath('setpriv');

export function spawnOwned(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = setpriv ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', command, ...args], { ...options, detached: true }) : spawn(command, args, { ...options, detached: true });
  running.add(child);
  const forget = () => running.delete(child);
  child.once('exit', forget);
  child.once('error', forget);
  return child;
}

/** Sends the signal to the child's whole process group; a group that is gone already is no error. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // exited already
  }
}

/** The ids of the processes (each its own group's id) this file started and that still run. */
export function ownedProcessIds(): number[] {
  return [...running].flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
}

/** A temporary directory for a process's files; removed with the processes if its owner did not remove it. */
export function ownedTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

/** Kills every process group this file started and that still runs, then removes their temporary directories. */
export function killOwnedProcesses(): void {
  for (const child of running) signalGroup(child, 'SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

process.on('exit', killOwnedProcesses);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  const onSignal = () => {
    killOwnedProcesses();
    // With no other handler (a file run by hand), end as the signal would have.
    if (process.listenerCount(signal) === 1) {
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    }
  };
  process.on(signal, onSignal);
}
// Only in a test file: registering a hook makes node:test report, which a benchmark that borrows a
// helper must not do.
if (/\.test\.[cm]?js$/.test(process.argv[1] ?? '')) after(killOwnedProcesses);
