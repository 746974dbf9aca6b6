#!/usr/bin/env node
import cluster from 'node:cluster';
import { stringify as toYaml } from 'yaml';
import { ConfigError, describeSettings, loadConfig, type ConfigSources } from './config/load.js';
import type { Config } from './config/schema.js';
import { printableConfig } from './config/secrets.js';
import { SwitchboardNode } from './node.js';
import { createLogger } from './observability/log.js';
import { TlsSettingError } from './transports/tls.js';
import { Primary, WorkerStartError } from './workers/primary.js';
import { WorkerLink, takeWorkerNodeId } from './workers/worker.js';

const usage = `Usage:
  switchboard serve [options]          start a node
  switchboard config print [options]   print the effective configuration as YAML
  switchboard config describe          list every setting with its environment variable and default

Options:
  --config FILE        YAML settings file (also SWITCHBOARD_CONFIG)
  --demo               serve the demo page at / and the API without a key (local quick start;
                       listens on 127.0.0.1 unless --host is given)
  --port N             same as --server.port N
  --host ADDR          same as --server.host ADDR
  --workers N|auto     same as --server.workers: N worker processes share the port (auto: one per CPU)
  --<setting> VALUE    any setting by its dotted path, e.g. --sessions.heartbeatInterval 10s

Settings are read from defaults, then the file, then SWITCHBOARD_* environment variables, then flags.
Exit codes: 0 done, 1 failed while running, 2 bad command line or configuration.`;

class UsageError extends Error {}

interface Parsed {
  command: string[];
  sources: ConfigSources;
}

const shorthands: Record<string, string> = { port: 'server.port', host: 'server.host', workers: 'server.workers' };

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Parsed {
  const command: string[] = [];
  const flags: Record<string, unknown> = {};
  let file = env.SWITCHBOARD_CONFIG;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      command.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (name === 'help') throw new UsageError('');
    if (name === 'demo') {
      flags['demo.enabled'] = true;
      flags['api.insecure'] = true;
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (name === 'config') file = value;
    else flags[shorthands[name] ?? name] = value;
  }
  // The demo's API is open: it listens on this machine only unless told where.
  if (flags['demo.enabled'] === true && flags['server.host'] === undefined && env.SWITCHBOARD_SERVER_HOST === undefined) flags['server.host'] = '127.0.0.1';
  return { command, sources: { file, env, flags } };
}

/** server.workers > 1: this process is the primary; it starts the workers and holds no sessions (src/workers/). */
async function servePrimary(config: Config): Promise<void> {
  const log = createLogger(config.log.level, config.node.id);
  const primary = new Primary(config, log);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'node.signal', signal }, `received ${signal}, draining every worker`);
    primary.drain().then(
      () => process.exit(0),
      (err) => {
        log.error({ event: 'node.drain_failed', err }, 'drain failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => primary.reload());
  const port = await primary.start();
  if (config.demo.enabled) printDemoBanner(config, port);
}

async function serve(config: Config, sources: ConfigSources, ignoredEnv?: { names: string[]; message: string }): Promise<void> {
  if (config.server.workers > 1 && cluster.isPrimary) return servePrimary(config);
  const link = cluster.isWorker ? new WorkerLink(config) : undefined;
  const node = new SwitchboardNode(config, link?.options());
  link?.bind(node);
  if (ignoredEnv) node.log.warn({ event: 'config.ignored_env', names: ignoredEnv.names }, ignoredEnv.message);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    node.log.info({ event: 'node.signal', signal }, `received ${signal}, draining`);
    node.drain().then(
      () => process.exit(0),
      (err) => {
        node.log.error({ event: 'node.drain_failed', err }, 'drain failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // SIGHUP reads the configuration again and hands it to the parts that can reload; a bad file is
  // reported and the node keeps running as it was.
  process.on('SIGHUP', () => {
    node.log.info({ event: 'node.signal', signal: 'SIGHUP' }, 'received SIGHUP, reloading the configuration');
    let fresh: Config;
    try {
      fresh = loadConfig(sources);
    } catch (err) {
      node.log.error({ event: 'node.reload_failed', problems: err instanceof ConfigError ? err.problems : [(err as Error).message] }, 'the configuration was not reloaded');
      return;
    }
    void node.reload(fresh);
  });
  await node.start();
  if (config.demo.enabled && !link) printDemoBanner(config, node.port);
}

function printDemoBanner(config: Config, port: number): void {
  const everywhere = config.server.host === '0.0.0.0' || config.server.host === '::';
  const shown = everywhere ? 'localhost' : config.server.host;
  const scheme = config.server.tls.cert ? 'https' : 'http';
  const exposure = everywhere
    ? `  WARNING:    listening on every interface (--host ${config.server.host}) with the API open: anyone who can reach this port may publish, list and disconnect sessions.\n`
    : `  The API is open without a key. Only this machine can reach it; --host 0.0.0.0 exposes it to your network (and the open API with it).\n`;
  process.stderr.write(
    `\nSwitchboard is running (in-memory broker).\n` +
      `  demo page:  ${scheme}://${shown}:${port}/\n` +
      `  publish:    curl -X POST ${scheme}://${shown}:${port}/api/publish -H 'content-type: application/json' -d '{"channel":"news","data":{"text":"hello"}}'\n` +
      exposure +
      `\n`,
  );
}

async function main(): Promise<number> {
  // A worker of `serve --workers N` runs the same command line, with the node id its primary gave it.
  const workerNodeId = cluster.isWorker ? takeWorkerNodeId(process.env) : undefined;
  let parsed: Parsed;
  try {
    parsed = parseArgs(process.argv.slice(2), process.env);
    if (workerNodeId) parsed.sources.overrides = { 'node.id': workerNodeId };
  } catch (err) {
    // --help asked for the usage: it goes to stdout and is not a failure.
    if (err instanceof UsageError && !err.message) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    process.stderr.write(`${err instanceof UsageError ? `${err.message}\n\n` : ''}${usage}\n`);
    return 2;
  }
  const [verb, sub] = parsed.command;
  if (verb === 'config' && sub === 'describe') {
    for (const s of describeSettings()) {
      process.stdout.write(`${s.path}\n  env: ${s.env}\n  default: ${JSON.stringify(s.default)}\n  ${s.doc}\n`);
    }
    return 0;
  }
  if (!(verb === 'serve' && sub === undefined) && !(verb === 'config' && sub === 'print')) {
    process.stderr.write(`${verb ? `unknown command: ${parsed.command.join(' ')}\n\n` : ''}${usage}\n`);
    return 2;
  }
  let ignoredEnv: string[] = [];
  let config: Config;
  try {
    config = loadConfig({ ...parsed.sources, onIgnoredEnv: (names) => (ignoredEnv = names) });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const ignoredMessage = `ignored Kubernetes service link variables (not settings): ${ignoredEnv.join(', ')}`;
  if (verb === 'config') {
    if (ignoredEnv.length > 0) process.stderr.write(`${ignoredMessage}\n`);
    process.stdout.write(toYaml(printableConfig(config)));
    return 0;
  }
  try {
    await serve(config, parsed.sources, ignoredEnv.length > 0 ? { names: ignoredEnv, message: ignoredMessage } : undefined);
  } catch (err) {
    if (err instanceof WorkerStartError) return err.exitCode;
    if (!(err instanceof TlsSettingError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    process.stderr.write(`switchboard: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
