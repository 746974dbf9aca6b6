import { readdirSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { SwitchboardError } from '../errors.js';

/** The compiled client SDK: the ES modules next to this module's compiled output (src/client/*.ts). */
const sdkDir = new URL('../client/', import.meta.url);

/**
 * Serves the client SDK to browsers at /client/*.js, so a page can
 * `import { SwitchboardClient } from '/client/index.js'` without a bundler. Always on: the files
 * are public code, read once at start.
 */
export function registerClientSdkRoutes(app: FastifyInstance): void {
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(sdkDir)) {
    if (name.endsWith('.js')) files.set(name, readFileSync(new URL(name, sdkDir)));
  }
  app.get('/client/:file', async (req, reply) => {
    const { file } = req.params as { file: string };
    const body = files.get(file);
    if (!body) throw new SwitchboardError('not_found', `no client module ${file}; the SDK starts at /client/index.js`);
    reply.header('content-type', 'text/javascript; charset=utf-8');
    reply.header('cache-control', 'no-cache');
    return body;
  });
}
