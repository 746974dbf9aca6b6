import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface CpuTimes {
  busy: number;
  total: number;
}

/** Whole-machine CPU times from /proc/stat (Linux), or null elsewhere. */
export function machineCpuTimes(): CpuTimes | null {
  try {
    const first = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const fields = first.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** Busy CPU of the whole machine between two readings, in percent of one core (2 cores busy = 200). */
export function machineBusyPercent(a: CpuTimes | null, b: CpuTimes | null): number | null {
  if (!a || !b || b.total === a.total) return null;
  return Math.round(((b.busy - a.busy) / (b.total - a.total)) * os.cpus().length * 1000) / 10;
}
