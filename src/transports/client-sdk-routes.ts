import { readdirSync, readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import { SwitchboardError } from '../protocol/errors.js';

/** The compiled client SDK: the ES modules next to this module's compiled output (src/client/*.ts). */
const sdkDir = new URL('../client/', import.meta.url);
/** The protocol definition the SDK imports as `../protocol/types.js`; the server's other protocol modules stay private. */
const protocolTypes = new URL('../protocol/types.js', import.meta.url);

/**
 * Serves the client SDK to browsers at /client/*.js (and the protocol definition it imports at
 * /protocol/types.js), so a page can `import { SwitchboardClient } from '/client/index.js'`
 * without a bundler. Always on: the files are public code, read once at start.
 */
export const clientSdkRoutes: FastifyPluginAsync = async (app) => {
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(sdkDir)) {
    if (name.endsWith('.js')) files.set(`client/${name}`, readFileSync(new URL(name, sdkDir)));
  }
  files.set('protocol/types.js', readFileSync(protocolTypes));
  const serve = (folder: string) =>
    app.get(`/${folder}/:file`, async (req, reply) => {
      const { file } = req.params as { file: string };
      const body = files.get(`${folder}/${file}`);
      if (!body) throw new SwitchboardError('not_found', `no client module ${folder}/${file}; the SDK starts at /client/index.js`);
      reply.header('content-type', 'text/javascript; charset=utf-8');
      reply.header('cache-control', 'no-cache');
      return body;
    });
  serve('client');
  serve('protocol');
};
