import type { ChildProcess } from 'node:child_process';

/**
 * Request/answer over a forked child's IPC channel. Every call has a timeout, and every pending
 * call fails at once when the child exits, so nothing in the benchmark can wait forever.
 */
export class Rpc {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  exited = false;

  constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.on('message', (msg: any) => {
      if (!msg || typeof msg.id !== 'number') return;
      const waiter = this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id);
      clearTimeout(waiter.timer);
      if (msg.ok === false) waiter.reject(new Error(`${this.name}: ${msg.error}`));
      else waiter.resolve(msg);
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const [, waiter] of this.pending) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`${this.name} exited (code ${code}, signal ${signal})`));
      }
      this.pending.clear();
    });
  }

  call<T = any>(op: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    if (this.exited || !this.child.connected) return Promise.reject(new Error(`${this.name} is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${op} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.send({ id, op, ...args }, (err) => {
        if (!err) return;
        const waiter = this.pending.get(id);
        if (!waiter) return;
        this.pending.delete(id);
        clearTimeout(timer);
        reject(err);
      });
    });
  }
}

export type Handler = (msg: any) => unknown | Promise<unknown>;

/**
 * The child side: answers each request with the handler's result (an object) or its error.
 * The child exits when the parent goes away, so a crashed benchmark leaves nothing behind.
 */
export function serveRpc(handlers: Record<string, Handler>): void {
  process.on('message', (msg: any) => {
    if (!msg || typeof msg.id !== 'number') return;
    const handler = handlers[msg.op];
    const reply = (body: object) => {
      if (process.connected) process.send!({ id: msg.id, ...body });
    };
    if (!handler) {
      reply({ ok: false, error: `unknown op ${msg.op}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(msg))
      .then(
        (result) => reply({ ok: true, ...((result as object) ?? {}) }),
        (err: Error) => reply({ ok: false, error: err?.stack ?? String(err) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

/** CPU time (user + system) of this process in microseconds, and its resident set size in bytes. */
export function selfUsage(): { cpuMicros: number; rss: number } {
  const cpu = process.cpuUsage();
  return { cpuMicros: cpu.user + cpu.system, rss: process.memoryUsage.rss() };
}
