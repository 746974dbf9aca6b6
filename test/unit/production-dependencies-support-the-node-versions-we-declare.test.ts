import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

/** The part of semver (a devDependency) these checks use. */
interface Semver {
  satisfies(version: string, range: string): boolean;
  subset(sub: string, dom: string): boolean;
}
const semver = createRequire(import.meta.url)('semver') as Semver;

interface LockedPackage {
  version?: string;
  dev?: boolean;
  engines?: { node?: string } | string[];
}

const root = new URL('../../../', import.meta.url);
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as { packages: Record<string, LockedPackage> };
const declared = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } }).engines.node;

/** Every package npm installs for production (not dev-only) that names the Node versions it runs on. */
const production = Object.entries(lock.packages).flatMap(([path, pkg]) => {
  const range = Array.isArray(pkg.engines) ? undefined : pkg.engines?.node;
  return path !== '' && !pkg.dev && range ? [{ name: `${path.replace(/^.*node_modules\//, '')}@${pkg.version}`, range }] : [];
});

describe('Production dependencies in package-lock.json', () => {
  it('every one accepts the running Node version', () => {
    assert.ok(production.length > 0, 'the lockfile names engines for some production packages');
    const refusing = production.filter(({ range }) => !semver.satisfies(process.version, range));
    assert.deepEqual(refusing, [], `npm install on Node ${process.version} warns EBADENGINE for these`);
  });

  it(`every one accepts each Node version package.json declares (${declared})`, () => {
    assert.ok(semver.satisfies(process.version, declared), `the running Node ${process.version} is one package.json declares`);
    const narrower = production.filter(({ range }) => !semver.subset(declared, range));
    assert.deepEqual(narrower, [], 'these packages refuse some Node versions package.json declares');
  });
});
