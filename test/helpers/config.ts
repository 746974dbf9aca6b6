import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/load.js';

/** A YAML file in a fresh temporary directory; `remove()` deletes the directory. */
export function tempYaml(text: string): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-config-'));
  const path = join(dir, 'switchboard.yaml');
  writeFileSync(path, text);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs fn, expects a ConfigError and returns its problems. */
export function configProblems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError, but the configuration was accepted');
}

/** Asserts that every key of `expected` has a deep-equal value in `actual` (other keys may exist). */
export function includes(actual: unknown, expected: Record<string, unknown>, path = 'config'): void {
  if (actual === null || typeof actual !== 'object') throw new Error(`${path} is not an object: ${JSON.stringify(actual)}`);
  for (const [key, value] of Object.entries(expected)) {
    const got = (actual as Record<string, unknown>)[key];
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
      includes(got, value as Record<string, unknown>, `${path}.${key}`);
    } else if (JSON.stringify(got) !== JSON.stringify(value)) {
      throw new Error(`${path}.${key} is ${JSON.stringify(got)}, expected ${JSON.stringify(value)}`);
    }
  }
}
