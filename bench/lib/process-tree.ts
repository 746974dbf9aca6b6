import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat's CPU times (USER_HZ, 100 on Linux). */
const ticksPerSecond = 100;

/** One process of a server: its CPU time so far and its resident memory. */
export interface ProcessUsage {
  pid: number;
  cpuMicros: number;
  rss: number;
}

/** The process and its direct children (a primary and its workers), from /proc (Linux). */
export function processTree(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return [pid, ...(children === '' ? [] : children.split(/\s+/).map(Number))];
  } catch {
    return [pid];
  }
}

/** CPU time and RSS of each process, read from /proc; processes that are gone are left out. */
export function treeUsage(pids: number[]): ProcessUsage[] {
  const usages: ProcessUsage[] = [];
  for (const pid of pids) {
    try {
      // The command name (field 2) may hold spaces: the fields after it start past its closing parenthesis.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      const rssPages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
      usages.push({ pid, cpuMicros: (ticks / ticksPerSecond) * 1e6, rss: rssPages * 4096 });
    } catch {
      // exited
    }
  }
  return usages;
}
