import { readFileSync } from 'node:fs';

/** This build's version, from package.json (three levels up from the compiled dist/src/observability). */
export const version: string = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
