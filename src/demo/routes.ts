import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';

/** The demo page lives in the source tree (not compiled), next to this module's source. */
const pageUrl = new URL('../../../src/demo/index.html', import.meta.url);

/** Serves the demo page at / (demo.enabled). */
export const demoRoutes: FastifyPluginAsync = async (app) => {
  const page = readFileSync(pageUrl);
  app.get('/', async (_req, reply) => {
    reply.header('content-type', 'text/html; charset=utf-8');
    reply.header('cache-control', 'no-cache');
    return page;
  });
};
