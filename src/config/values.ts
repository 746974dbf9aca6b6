/** Parsers for the value kinds config accepts; each throws a message naming what it expected. */

import { createPublicKey } from 'node:crypto';

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

/**
 * A list from an array, a JSON array (as a flag or environment variable gives it: a PEM key's
 * newlines are `\n` escapes there) or a comma-separated string.
 */
export function parseStringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(parseString);
  if (typeof value === 'string' && value.trimStart().startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(value);
    } catch {
      throw new Error(`expected a JSON list of strings, got ${show(value)}`);
    }
    if (Array.isArray(list)) return list.map(parseString);
  }
  if (typeof value === 'string')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  throw new Error(`expected a list of strings or a comma-separated string, got ${show(value)}`);
}

export function parseEnum<T extends string>(value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new Error(`expected one of ${allowed.join(', ')}, got ${show(value)}`);
}

/** A plain object of options (not a list, not null). */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Throws for the first key of `options` not in `known`: `WHERE: unknown option "key"`. */
export function rejectUnknownKeys(options: Record<string, unknown>, known: readonly string[], where = ''): void {
  const unknown = Object.keys(options).find((key) => !known.includes(key));
  if (unknown !== undefined) throw new Error(`${where ? `${where}: ` : ''}unknown option ${JSON.stringify(unknown)}`);
}

export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** An error about one element of a list: `[i]: message` (the loader puts it right after the setting's name). */
function atIndex(i: number, parse: () => unknown): void {
  try {
    parse();
  } catch (err) {
    throw new Error(`[${i}]: ${(err as Error).message}`);
  }
}

/** A URL with one of these schemes (`http`, `https`, ...) and a host; empty when `optional`. */
export function parseUrl(value: unknown, schemes: readonly string[], optional = true): string {
  const text = parseString(value).trim();
  if (text === '' && optional) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${show(text)} is not a URL`);
  }
  if (!schemes.includes(url.protocol.slice(0, -1))) {
    throw new Error(
      `${show(text)} must start with ${schemes
        .map((s) => `${s}://`)
        .join(', ')
        .replace(/, ([^,]*)$/, ' or $1')}`,
    );
  }
  if (url.hostname === '') throw new Error(`${show(text)} has no host`);
  return text;
}

/** Comma-separated URLs with one of these schemes (a bare host:port is allowed when `bare`); each checked. */
export function parseUrlList(value: unknown, schemes: readonly string[], options: { optional?: boolean; bare?: boolean } = {}): string {
  const text = parseString(value).trim();
  if (text === '' && options.optional) return text;
  const check = (entry: string) => {
    const item = entry.trim();
    if (!(options.bare && /^[A-Za-z0-9.-]+:\d+$/.test(item))) parseUrl(item, schemes, false);
  };
  const entries = text.split(',');
  // One URL is named by the setting alone; in a list, by its index too.
  if (entries.length === 1) check(text);
  else entries.forEach((entry, i) => atIndex(i, () => check(entry)));
  return text;
}

export const httpSchemes = ['http', 'https'] as const;

/** PEM public keys (SPKI, `-----BEGIN PUBLIC KEY-----`), each one checked by reading it. */
export function parsePublicKeys(value: unknown): string[] {
  // A key pasted into a variable with `\n` escapes instead of newlines reads as the same key.
  const keys = parseStringList(value).map((key) => (key.includes('\n') ? key : key.replace(/\\n/g, '\n')));
  keys.forEach((key, i) =>
    atIndex(i, () => {
      if (!/^\s*-----BEGIN PUBLIC KEY-----/.test(key)) throw new Error('not a PEM public key: it must begin with -----BEGIN PUBLIC KEY-----');
      try {
        createPublicKey(key);
      } catch (err) {
        throw new Error(`not a PEM public key (${(err as Error).message})`);
      }
    }),
  );
  return keys;
}
