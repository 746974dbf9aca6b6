import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanEnv } from '../../helpers/cli.js';
import { repoRoot as root } from '../../helpers/npm.js';
import { ownedTempDir, signalGroup, spawnOwned } from '../../helpers/processes.js';
import { freePort } from '../../helpers/services.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

/** A line the README shows under a command: one it prints, or one the reader types (`> `). */
type Line = { typed: boolean; text: string };
interface TourCommand {
  /** As the README writes it, continuation lines included. */
  text: string;
  expected: Line[];
}

/** The `$` commands of the tour's `sh` blocks, in order, each with the lines shown under it. */
function tourCommands(readme: string): TourCommand[] {
  const start = readme.indexOf('## A two-minute tour');
  assert.ok(start >= 0, 'the README has a tour');
  const tour = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const commands: TourCommand[] = [];
  for (const [, body] of tour.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = body!.split('\n').slice(0, -1);
    assert.ok(lines[0]?.startsWith('$ '), `an sh block of the tour starts with a $ command: ${lines[0]}`);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.startsWith('$ ')) {
        let text = line.slice(2);
        while (text.endsWith('\\')) text += `\n${lines[++i]}`;
        commands.push({ text, expected: [] });
      } else {
        commands.at(-1)!.expected.push(line.startsWith('> ') ? { typed: true, text: line.slice(2) } : { typed: false, text: line });
      }
    }
  }
  return commands;
}

/** Session ids, node ids and session secrets differ on every run. */
const normalize = (line: string) => line.replace(/"(session|node|sessionSecret)":"[^"]*"/g, '"$1":"…"');

/** One command of the tour running in a shell, as in a terminal; its output is checked against the README as it arrives. */
class Terminal {
  readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private partial = '';
  private stderr = '';
  private shown = 0;
  private seen = 0;
  get printed(): boolean {
    return this.lines.length > 0;
  }

  /** When the command last printed (or started, or was typed into). */
  lastOutputAt = Date.now();
  exited = false;

  constructor(
    readonly command: TourCommand,
    text: string,
    env: Record<string, string>,
  ) {
    // Line-buffered like a terminal's output: curl without -N holds a piped stream's output back.
    this.child = spawnOwned('stdbuf', ['-oL', 'bash', '-c', text], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const parts = (this.partial + chunk.toString()).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
      this.lastOutputAt = Date.now();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child.on('close', () => {
      if (this.partial !== '') this.lines.push(this.partial);
      this.exited = true;
    });
  }

  /** Types what the README types and checks each line printed so far; true once every line the README shows was printed. */
  advance(): boolean {
    const { expected } = this.command;
    while (this.shown < expected.length) {
      const line = expected[this.shown]!;
      if (line.typed) {
        this.child.stdin!.write(`${line.text}\n`);
        this.lastOutputAt = Date.now();
      } else {
        if (this.seen >= this.lines.length) return false;
        assert.equal(normalize(this.lines[this.seen]!), normalize(line.text), `line ${this.seen + 1} printed by: ${this.command.text}`);
        this.seen += 1;
      }
      this.shown += 1;
    }
    return true;
  }

  /** Fails unless the README's lines were all printed; `whole`: the command ended and printed nothing more. */
  check(whole = false): void {
    assert.ok(this.advance(), `${this.command.text}\nnever printed: ${this.command.expected[this.shown]?.text}\nprinted:\n${this.lines.join('\n')}\n${this.stderr}`);
    if (whole) assert.deepEqual(this.lines.slice(this.seen), [], `more than the README shows, from: ${this.command.text}\n${this.stderr}`);
  }
}

describe('The README tour', { skip: requireTool('curl') }, () => {
  const terminals: Terminal[] = [];
  after(() => {
    for (const terminal of terminals) signalGroup(terminal.child, 'SIGKILL');
  });

  it('runs as written, in order, and every command prints what the README shows', async () => {
    const commands = tourCommands(readFileSync(join(root, 'README.md'), 'utf8'));
    const [port, backendPort] = [await freePort(), await freePort()];
    // The README's ports are taken on a shared machine: the node and the backend get free ones.
    const ports = (text: string) => text.replace(/\b8080\b/g, String(port)).replace(/\b3000\b/g, String(backendPort));
    const bin = ownedTempDir('readme-tour-');
    const websocat = fileURLToPath(new URL('../../fixtures/websocat.js', import.meta.url));
    writeFileSync(join(bin, 'websocat'), `#!/bin/sh\nexec '${process.execPath}' '${websocat}' "$@"\n`);
    chmodSync(join(bin, 'websocat'), 0o755);
    const env = cleanEnv({
      PATH: `${bin}:${process.env.PATH}`,
      SWITCHBOARD_SERVER_HOST: '127.0.0.1',
      SWITCHBOARD_SERVER_PORT: String(port),
      // Ctrl-C drains: sessions are asked to reconnect over this window (10 s by default).
      SWITCHBOARD_SHUTDOWN_DRAIN_WINDOW: '1s',
    });
    const run = (command: TourCommand) => {
      const terminal = new Terminal(command, ports(command.text), env);
      terminals.push(terminal);
      return terminal;
    };
    const allShown = async () => {
      await waitUntil(() => terminals.every((t) => t.advance()), 5000, 'every line the README shows so far').catch(() => undefined);
      for (const terminal of terminals) terminal.check();
    };
    const startNode = async (command: TourCommand) => {
      const node = run(command);
      await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok === true, 15_000, `a node from: ${command.text}`);
      return node;
    };

    // "Start a node with npm start": the script npm start runs once it has built the project.
    const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    let node = await startNode({ text: start, expected: [] });
    for (const command of commands) {
      if (/cli\.js serve\b/.test(command.text)) {
        // "Stop the node (Ctrl-C)" before the tour starts it again.
        await allShown();
        signalGroup(node.child, 'SIGINT');
        await waitUntil(() => node.exited, 10_000, 'the node to drain and exit');
        node = await startNode(command);
        continue;
      }
      const terminal = run(command);
      // A command that ends (a publish) is checked whole. One that keeps running (a subscriber)
      // has printed what it prints before the next command once it is quiet for a second; the
      // lines it shows after that (a publication the next command makes) are checked later.
      const quiet = () => (terminal.printed || command.expected.length === 0) && Date.now() - terminal.lastOutputAt > 1000;
      await waitUntil(() => (terminal.advance() && terminal.command.expected.length > 0) || terminal.exited || quiet(), 10_000, command.text);
      if (terminal.exited) terminal.check(true);
    }
    await allShown();
  });
});
