import { fork, spawn, type ChildProcess, type ForkOptions, type SpawnOptions } from 'node:child_process';

/** Every process the benchmark started; all are killed when it exits, however it exits. */
const children = new Set<ChildProcess>();

export function forkTracked(modulePath: string, args: string[], options: ForkOptions): ChildProcess {
  const child = fork(modulePath, args, options);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** Like forkTracked, for a program that is not a Node script (a broker server). */
export function spawnTracked(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.on('error', () => children.delete(child));
  return child;
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGKILLs every child still running, each by its own pid. */
export function killAll(): void {
  for (const child of children) {
    if (isRunning(child)) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

/** Waits for the child to exit, SIGKILLing it after timeoutMs. */
export function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      if (isRunning(child)) child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
