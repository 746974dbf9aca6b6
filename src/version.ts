import { readFileSync } from 'node:fs';

/** This build's version, from package.json (two levels up from the compiled dist/src). */
export const version: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
