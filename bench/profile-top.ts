/**
 * Prints the top self-time entries of a V8 .cpuprofile (as written by `node --cpu-prof`).
 *
 *   node dist/bench/profile-top.js FILE_OR_DIR [--top=N] [--by=function|file]
 *
 * A directory means its newest .cpuprofile. Self time of a function is the time of the samples
 * whose top frame is that function; entries are summed over every node with the same function,
 * script and line. Percentages are of the profile's duration and of its busy (non-idle) time.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

function pickFile(target: string): string {
  if (!statSync(target).isDirectory()) return target;
  const files = readdirSync(target)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(target, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files.length === 0) throw new Error(`no .cpuprofile in ${target}`);
  return files[0]!;
}

/** Shortens a script URL to something readable: node_modules/pkg/..., dist/src/..., node:internal/... */
function shortUrl(url: string): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) return url.slice(nm + 1);
  const dist = url.lastIndexOf('/dist/');
  if (dist !== -1) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

export interface Entry {
  name: string;
  where: string;
  selfMs: number;
}

/** Self time per function (or per script with by='file'), largest first, and the totals. */
export function selfTimes(profile: CpuProfile, by: 'function' | 'file' = 'function'): { entries: Entry[]; totalMs: number; idleMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMicros = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  if (samples && timeDeltas && samples.length === timeDeltas.length) {
    // The delta before sample i is the time until it; attribute each interval to the next sample's node.
    for (let i = 0; i < samples.length; i++) {
      const delta = timeDeltas[i + 1] ?? 0;
      selfMicros.set(samples[i]!, (selfMicros.get(samples[i]!) ?? 0) + Math.max(0, delta));
    }
  } else {
    const total = profile.endTime - profile.startTime;
    const hits = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
    for (const n of profile.nodes) selfMicros.set(n.id, ((n.hitCount ?? 0) / hits) * total);
  }
  const groups = new Map<string, Entry>();
  let idleMs = 0;
  let totalMs = 0;
  for (const [id, micros] of selfMicros) {
    const node = byId.get(id);
    if (!node) continue;
    const ms = micros / 1000;
    totalMs += ms;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') idleMs += ms;
    const where = shortUrl(url);
    // Frames without a script are V8/Node natives (e.g. writeBuffer and writev: the write syscalls).
    const native = where === '' && !functionName.startsWith('(');
    const name = by === 'file' ? where || (native ? `(native) ${functionName}` : functionName) : functionName || '(anonymous)';
    const key = by === 'file' ? name : `${name}\u0000${where}\u0000${lineNumber}`;
    const entry = groups.get(key) ?? { name, where: by === 'file' ? '' : where ? `${where}:${lineNumber + 1}` : native ? 'native' : '', selfMs: 0 };
    entry.selfMs += ms;
    groups.set(key, entry);
  }
  return { entries: [...groups.values()].sort((a, b) => b.selfMs - a.selfMs), totalMs, idleMs };
}

function main(): number {
  const args = process.argv.slice(2);
  const target = args.find((a) => !a.startsWith('--'));
  const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
  const by = args.includes('--by=file') ? 'file' : 'function';
  if (!target) {
    process.stderr.write('usage: node dist/bench/profile-top.js FILE_OR_DIR [--top=N] [--by=function|file]\n');
    return 2;
  }
  const file = pickFile(target);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const { entries, totalMs, idleMs } = selfTimes(profile, by);
  const busyMs = totalMs - idleMs;
  const lines = [
    `${basename(file)}: ${(totalMs / 1000).toFixed(1)} s profiled, ${(busyMs / 1000).toFixed(1)} s busy (${((busyMs / totalMs) * 100).toFixed(1)}%)`,
    '',
    `${'self ms'.padStart(9)}  ${'% all'.padStart(6)}  ${'% busy'.padStart(6)}  ${by === 'file' ? 'script' : 'function  (script:line)'}`,
  ];
  for (const e of entries.slice(0, top)) {
    const busyPct = e.name === '(idle)' ? '' : ((e.selfMs / busyMs) * 100).toFixed(1);
    lines.push(`${e.selfMs.toFixed(1).padStart(9)}  ${((e.selfMs / totalMs) * 100).toFixed(1).padStart(6)}  ${busyPct.padStart(6)}  ${e.name}${e.where ? `  (${e.where})` : ''}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

if (process.argv[1] && basename(process.argv[1]) === 'profile-top.js' && import.meta.url.endsWith('/profile-top.js')) process.exitCode = main();
