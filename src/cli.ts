#!/usr/bin/env node
import cluster from 'node:cluster';
import { stringify as toYaml } from 'yaml';
import { ConfigError, describeSettings, isBooleanSetting, loadConfig, type ConfigSources } from './config/load.js';
import type { Config } from './config/schema.js';
import { printableConfig } from './config/secrets.js';
import { SwitchboardNode } from './node.js';
import { createLogger } from './observability/log.js';
import { describeStartFailure } from './start-failure.js';
import { TlsSettingError } from './transports/tls.js';
import { version } from './observability/version.js';
import { Primary, WorkerStartError } from './workers/primary.js';
import { WorkerLink, takeWorkerNodeId } from './workers/worker.js';

const exitCodes = 'Exit codes: 0 done, 1 failed while running, 2 bad command line or configuration.';

const usage = `Usage:
  switchboard serve [options]          start a node
  switchboard config print [options]   print the effective configuration as YAML
  switchboard config describe          list every setting with its environment variable and default
  switchboard help [COMMAND]           this help, or a command's own (also COMMAND --help, -h)
  switchboard version                  print the version (also --version, -v)

Options:
  --config FILE        YAML settings file (also SWITCHBOARD_CONFIG)
  --demo               serve the demo page at / and the API without a key (local quick start;
                       listens on 127.0.0.1 unless --host is given)
  --port N             same as --server.port N
  --host ADDR          same as --server.host ADDR
  --workers N|auto     same as --server.workers: N worker processes share the port (auto: one per CPU)
  --<setting> VALUE    any setting by its dotted path, e.g. --sessions.heartbeatInterval 10s

Settings are read from defaults, then the file, then SWITCHBOARD_* environment variables, then flags.
${exitCodes}`;

/** Every setting as a flag with the kind of value it takes and its default, for a command's help. */
function settingFlags(): string {
  return describeSettings()
    .map(({ path, default: value }) => {
      const kind = isBooleanSetting(path) ? '[BOOL]' : typeof value === 'number' ? 'N' : Array.isArray(value) ? 'LIST' : typeof value === 'object' ? 'JSON' : 'VALUE';
      return `  --${path} ${kind}  (default ${JSON.stringify(value)})`;
    })
    .join('\n');
}

const optionsAndSettings = () => `Options:
  --config FILE        YAML settings file (also SWITCHBOARD_CONFIG)
  --demo               serve the demo page at / and the API without a key (local quick start)
  --port N             same as --server.port N
  --host ADDR          same as --server.host ADDR
  --workers N|auto     same as --server.workers: N worker processes share the port (auto: one per CPU)
  -h, --help           this help

Settings, each also a SWITCHBOARD_* environment variable (switchboard config describe explains them).
A boolean flag without a value means true; lists take a comma-separated string or JSON, maps JSON:
${settingFlags()}

Settings are read from defaults, then the file, then SWITCHBOARD_* environment variables, then flags.
${exitCodes}`;

/** The help of one command, by its words; the general usage for anything else. */
function helpFor(command: string[]): string {
  switch (command.join(' ')) {
    case 'serve':
      return `Usage: switchboard serve [options]\n\nStarts a node and runs it until SIGTERM or SIGINT (drain) or SIGHUP (reload).\n\n${optionsAndSettings()}`;
    case 'config print':
      return `Usage: switchboard config print [options]\n\nPrints the effective configuration as YAML, secrets masked; takes what serve takes.\n\n${optionsAndSettings()}`;
    case 'config describe':
      return `Usage: switchboard config describe\n\nLists every setting with its environment variable, default and meaning.\n\n${exitCodes}`;
    default:
      return usage;
  }
}

class UsageError extends Error {}

interface Parsed {
  command: string[];
  sources: ConfigSources;
  /** -h or --help was given: show the help of the command. */
  help: boolean;
  /** --version or -v was given. */
  version: boolean;
}

const shorthands: Record<string, string> = { port: 'server.port', host: 'server.host', workers: 'server.workers' };
const booleanWords = new Set(['true', 'false', '1', '0', 'yes', 'no']);

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Parsed {
  const command: string[] = [];
  const flags: Record<string, unknown> = {};
  let file = env.SWITCHBOARD_CONFIG;
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (arg === '-v' || arg === '--version') {
      version = true;
      continue;
    }
    if (!arg.startsWith('-')) {
      command.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (name === 'demo') {
      flags['demo.enabled'] = true;
      flags['api.insecure'] = true;
      continue;
    }
    const path = shorthands[name] ?? name;
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    // A boolean setting's flag alone (last, or before another flag or a command word) means true.
    else if (isBooleanSetting(path) && !booleanWords.has(argv[i + 1] ?? '')) value = 'true';
    else value = argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (name === 'config') file = value;
    else flags[path] = value;
  }
  // The demo's API is open: it listens on this machine only unless told where.
  if (flags['demo.enabled'] === true && flags['server.host'] === undefined && env.SWITCHBOARD_SERVER_HOST === undefined) flags['server.host'] = '127.0.0.1';
  return { command, sources: { file, env, flags }, help, version };
}

/**
 * server.workers > 1: this process is the primary; it starts the workers and holds no sessions
 * (src/workers/). Answers -1 once every worker listens, or the exit code of one that could not start.
 */
async function servePrimary(config: Config): Promise<number> {
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
  let port: number;
  try {
    port = await primary.start();
  } catch (err) {
    if (err instanceof WorkerStartError) return err.exitCode;
    throw err;
  }
  if (config.demo.enabled) printDemoBanner(config, port);
  return -1;
}

/** Runs a node until a signal stops it; answers -1 once it runs, or 1 when it could not start. */
async function serve(config: Config, sources: ConfigSources, ignoredEnv?: { names: string[]; message: string }): Promise<number> {
  if (config.server.workers > 1 && cluster.isPrimary) return servePrimary(config);
  // A worker of `serve --workers N`: a node whose broker and /metrics, /readyz go through its primary.
  const link = cluster.isWorker ? new WorkerLink(config) : undefined;
  let node: SwitchboardNode;
  try {
    node = await SwitchboardNode.create(config, link?.options());
    link?.bind(node);
  } catch (err) {
    // An unusable certificate or key is a configuration problem (exit 2), found when the server is built.
    if (err instanceof TlsSettingError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    process.stderr.write(`${await describeStartFailure(err, config)}\n`);
    return 1;
  }
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
  try {
    await node.start();
  } catch (err) {
    // One line naming the setting on stderr; the details (and stack) go to the JSON log.
    node.log.error({ event: 'node.start_failed', err }, 'could not start');
    process.stderr.write(`${await describeStartFailure(err, config)}\n`);
    return 1;
  }
  if (config.demo.enabled && !link) printDemoBanner(config, node.port);
  return -1;
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
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${usage}\n`);
    return 2;
  }
  if (parsed.version || (parsed.command.length === 1 && parsed.command[0] === 'version')) {
    process.stdout.write(`switchboard ${version}\n`);
    return 0;
  }
  // Help asked for goes to stdout and is not a failure.
  if (parsed.help || parsed.command[0] === 'help') {
    process.stdout.write(`${helpFor(parsed.command[0] === 'help' ? parsed.command.slice(1) : parsed.command)}\n`);
    return 0;
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
  return serve(config, parsed.sources, ignoredEnv.length > 0 ? { names: ignoredEnv, message: ignoredMessage } : undefined);
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
