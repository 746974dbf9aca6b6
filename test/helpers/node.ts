import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { SwitchboardNode } from '../../src/node.js';
import type { NodeOptions } from '../../src/node-options.js';
import { spawnOwned } from './processes.js';

export interface TestNode {
  node: SwitchboardNode;
  /** http://127.0.0.1:PORT */
  url: string;
  /** ws://127.0.0.1:PORT */
  wsUrl: string;
  stop(): Promise<void>;
}

/** Starts an in-process node on a free loopback port with the API open and logs silenced. */
export async function startNode(overrides: Record<string, unknown> = {}, options: NodeOptions = {}): Promise<TestNode> {
  const config = loadConfig({
    // Anonymous clients (off by default outside the demo) unless a test says otherwise.
    overrides: { 'server.host': '127.0.0.1', 'server.port': 0, 'api.insecure': true, 'auth.anonymous': true, 'log.level': 'silent', ...overrides },
  });
  const node = await SwitchboardNode.create(config, options);
  await node.start();
  const url = `http://127.0.0.1:${node.port}`;
  return { node, url, wsUrl: url.replace('http', 'ws'), stop: () => node.stop() };
}

/** POSTs JSON (or raw text) and returns status and parsed body. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

export const cliPath = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface NodeProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Every stdout line (JSON logs) seen so far. */
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

/**
 * Runs `switchboard serve` as a real process on a free port (killed when the test file ends, see
 * processes.ts); resolves once it listens. `nodeArgs` go to node before the script (`--import`).
 */
export async function startProcess(args: string[] = [], env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<NodeProcess> {
  const child = spawnOwned(process.execPath, [...nodeArgs, cliPath, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    // Anonymous clients (off by default outside the demo) unless the test's flags or env say otherwise.
    env: { ...process.env, SWITCHBOARD_AUTH_ANONYMOUS: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  let buffered = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start: ${stderr}`)), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        try {
          const entry = JSON.parse(line);
          if (entry.event === 'node.started') {
            clearTimeout(timer);
            resolve(entry.port);
          }
        } catch {
          // not a log line
        }
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`node exited before listening: ${stderr}`));
    });
  });
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    lines,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
