/** Parsers for the value kinds config accepts; each throws a message naming what it expected. */

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const byteUnits: Record<string, number> = {
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1_000_000,
  mib: 1024 * 1024,
  gb: 1_000_000_000,
  gib: 1024 * 1024 * 1024,
};

/** Milliseconds from a number (ms) or a string like `500ms`, `30s`, `2m`, `1h`. */
export function parseDuration(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
    if (m) return Math.round(Number(m[1]) * durationUnits[m[2] ?? 'ms']!);
  }
  throw new Error(`expected a duration such as 500ms, 30s, 2m or a number of milliseconds, got ${show(value)}`);
}

/** Bytes from a number or a string like `64KiB`, `1MiB`, `1000`. */
export function parseBytes(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)?\s*$/.exec(value);
    const unit = byteUnits[(m?.[2] ?? 'b').toLowerCase()];
    if (m && unit !== undefined) return Math.round(Number(m[1]) * unit);
  }
  throw new Error(`expected a size such as 65536, 64KiB or 1MiB, got ${show(value)}`);
}

export function parseInteger(value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) return n;
  throw new Error(`expected an integer from ${min} to ${max}, got ${show(value)}`);
}

export function parseBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1' || value === 'yes') return true;
  if (value === 'false' || value === '0' || value === 'no') return false;
  throw new Error(`expected true or false, got ${show(value)}`);
}

export function parseString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw new Error(`expected a string, got ${show(value)}`);
}

/** A list from an array or a comma-separated string. */
export function parseStringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(parseString);
  if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  throw new Error(`expected a list of strings or a comma-separated string, got ${show(value)}`);
}

export function parseEnum<T extends string>(value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new Error(`expected one of ${allowed.join(', ')}, got ${show(value)}`);
}

export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
