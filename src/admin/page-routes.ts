import type { FastifyPluginAsync } from 'fastify';
import type { ConsolePage } from './page-assets.js';

/**
 * Serves the admin console at /admin/ (admin.enabled). The page talks to the node through the
 * documented /api routes and /ws only, so it needs nothing from the node but its files.
 */
export const consolePageRoutes: FastifyPluginAsync<{ page: ConsolePage }> = async (app, { page }) => {
  app.get('/admin', async (_req, reply) => reply.redirect('/admin/', 308));
  app.get<{ Params: { '*': string } }>('/admin/*', async (req, reply) => {
    const file = page.files.get(req.params['*']);
    if (!file) return reply.callNotFound();
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    reply.header('etag', file.etag);
    reply.header('content-security-policy', page.contentSecurityPolicy);
    if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
    reply.header('content-type', file.contentType);
    return file.body;
  });
};
