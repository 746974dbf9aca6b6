import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { forkTracked, isRunning, waitExit } from './children.js';
import { Rpc } from './ipc.js';

export const serverNames = ['switchboard', 'switchboard-tls', 'switchboard-graphql', 'switchboard-baseline', 'ws', 'socketio'] as const;
export type ServerName = (typeof serverNames)[number];

/** How clients reach each server: the WebSocket flavour, paths (with `{ch}`), and whether it has SSE. */
export interface ServerKind {
  wsKind: 'ws' | 'sio' | 'gql';
  wsPath: string;
  ssePath: string | null;
  /** Served over TLS (wss, https). */
  tls?: boolean;
  /** Only the fan-out workloads run against it (a variant of the switchboard server). */
  fanoutOnly?: boolean;
}

export const serverKinds: Record<ServerName, ServerKind> = {
  switchboard: { wsKind: 'ws', wsPath: '/ws?channels={ch}', ssePath: '/sse?channels={ch}' },
  'switchboard-tls': { wsKind: 'ws', wsPath: '/ws?channels={ch}', ssePath: '/sse?channels={ch}', tls: true, fanoutOnly: true },
  // GraphQL subscribers over graphql-ws: the channel is named in each one's subscribe message.
  'switchboard-graphql': { wsKind: 'gql', wsPath: '/graphql', ssePath: null, fanoutOnly: true },
  // Another build of Switchboard (--baseline=DIR), to compare two versions in the same run.
  'switchboard-baseline': { wsKind: 'ws', wsPath: '/ws?channels={ch}', ssePath: '/sse?channels={ch}' },
  ws: { wsKind: 'ws', wsPath: '/ws?channels={ch}', ssePath: '/sse?channels={ch}' },
  socketio: { wsKind: 'sio', wsPath: '/socket.io/?EIO=4&transport=websocket&channels={ch}', ssePath: null },
};

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
/** dist/bench/lib -> the repository root. */
export const repoRoot = here('../../../');

/** A self-signed certificate for the TLS server, made once per run with openssl. */
function benchCertificate(): string[] {
  const dir = join(repoRoot, 'bench-results', 'tls');
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  if (!existsSync(cert) || !existsSync(key)) {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30', '-keyout', key, '-out', cert, '-subj', '/CN=localhost'],
      { stdio: 'ignore' },
    );
  }
  return ['--server.tls.cert', cert, '--server.tls.key', key];
}

let baselineCli: string | undefined;

/** Makes `switchboard-baseline` the Switchboard built in the checkout `dir` (its dist/src/cli.js). */
export function useBaseline(dir: string): void {
  const cli = join(dir, 'dist', 'src', 'cli.js');
  if (!existsSync(cli)) throw new Error(`--baseline: ${cli} is missing; run npm run build in ${dir} first`);
  baselineCli = cli;
}

/** How every Switchboard under test is started. */
const serveArgs = ['serve', '--demo', '--log.level', 'warn'];

const scripts: Record<ServerName, { path: string | (() => string); args: string[] | (() => string[]) }> = {
  switchboard: { path: here('../../src/cli.js'), args: serveArgs },
  'switchboard-tls': { path: here('../../src/cli.js'), args: () => [...serveArgs, ...benchCertificate()] },
  'switchboard-graphql': { path: here('../../src/cli.js'), args: [...serveArgs, '--graphql.enabled'] },
  'switchboard-baseline': { path: () => baselineCli!, args: serveArgs },
  ws: { path: here('../peers/bare-ws.js'), args: [] },
  socketio: { path: here('../peers/socketio.js'), args: [] },
};

export interface Usage {
  cpuMicros: number;
  rss: number;
  maxRss: number;
  heapUsed: number;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface StartOptions {
  /** Write a V8 CPU profile of this server into the directory (`--cpu-prof`). */
  profileDir?: string;
  /** Used in the profile's file name. */
  label: string;
  /** More command-line arguments for the server (e.g. a broker's flags). */
  args?: string[];
}

/** A server under test, in its own process, with the probe preloaded to answer usage questions. */
export class ServerProcess {
  readonly host = '127.0.0.1';
  private output = '';

  private constructor(
    readonly name: ServerName,
    readonly child: ChildProcess,
    readonly rpc: Rpc,
    readonly port: number,
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static async start(name: ServerName, options: StartOptions): Promise<ServerProcess> {
    const port = await freePort();
    const execArgv = ['--import', pathToFileURL(here('./probe.js')).href, '--expose-gc'];
    if (options.profileDir) {
      mkdirSync(options.profileDir, { recursive: true });
      execArgv.push('--cpu-prof', '--cpu-prof-dir', options.profileDir, '--cpu-prof-name', `${name}-${options.label}-${Date.now()}.cpuprofile`);
    }
    const script = scripts[name];
    const scriptArgs = typeof script.args === 'function' ? script.args() : script.args;
    const child = forkTracked(
      typeof script.path === 'function' ? script.path() : script.path,
      [...scriptArgs, ...(options.args ?? []), '--host', '127.0.0.1', '--port', String(port)],
      {
        execArgv,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      },
    );
    const server = new ServerProcess(name, child, new Rpc(child, name), port);
    const deadline = Date.now() + 20_000;
    while (!(await canConnect(server.host, port))) {
      if (!isRunning(child)) throw new Error(`${name} exited while starting: ${server.output}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${name} did not listen within 20 s: ${server.output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return server;
  }

  get recentOutput(): string {
    return this.output;
  }

  usage(gc = false): Promise<Usage> {
    return this.rpc.call<Usage>('usage', { gc }, 20_000);
  }

  /** Asks the server to exit (so a CPU profile is written), then kills it if it has not. */
  async stop(): Promise<void> {
    if (!isRunning(this.child)) return;
    await this.rpc.call('exit', {}, 5_000).catch(() => {});
    await waitExit(this.child, 30_000);
  }
}
