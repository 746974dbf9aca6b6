import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The system programs some test files need, each with the Debian package it comes in. A file that
 * needs one asks `requireTool` first and skips with one line naming the package when it is
 * missing; `.ci/run` installs them all, so CI runs everything.
 *
 * TEST_HIDE_TOOLS=kcat,haproxy,chromium,nginx makes the helpers treat those programs as missing,
 * to see what a machine without them runs.
 */
const debianPackages = {
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  'nats-server': 'nats-server',
  kcat: 'kcat',
  haproxy: 'haproxy',
  nginx: 'nginx',
  chromium: 'chromium',
  setpriv: 'util-linux',
  pgrep: 'procps',
  openssl: 'openssl',
  curl: 'curl',
} as const;

export type Tool = keyof typeof debianPackages;

const hidden = new Set((process.env.TEST_HIDE_TOOLS ?? '').split(',').map((name) => name.trim()));
// nginx and haproxy live in /usr/sbin, which a normal user's PATH may lack.
const searchPath = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'].filter(Boolean);
const found = new Map<Tool, string | undefined>();

/** The program's absolute path, or undefined when it is not installed (or hidden). */
export function toolPath(tool: Tool): string | undefined {
  if (hidden.has(tool)) return undefined;
  if (!found.has(tool)) {
    const path = searchPath
      .map((dir) => join(dir, tool))
      .find((candidate) => {
        try {
          accessSync(candidate, constants.X_OK);
          return true;
        } catch {
          return false;
        }
      });
    found.set(tool, path);
  }
  return found.get(tool);
}

/** The path of a program the caller checked with `requireTool`; throws if it is missing. */
export function tool(name: Tool): string {
  const path = toolPath(name);
  if (!path) throw new Error(`${name} is not installed (Debian package ${debianPackages[name]})`);
  return path;
}

/** A skip reason for `describe`/`it` naming the missing programs and their packages, or false when all are there. */
export function requireTool(...tools: Tool[]): string | false {
  const missing = tools.filter((name) => !toolPath(name));
  if (missing.length === 0) return false;
  const packages = [...new Set(missing.map((name) => debianPackages[name]))];
  return `needs ${missing.join(', ')}: install the Debian package${packages.length > 1 ? 's' : ''} ${packages.join(' ')} (.ci/run installs ${packages.length > 1 ? 'them' : 'it'})`;
}
