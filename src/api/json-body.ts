import type { FastifyInstance } from 'fastify';
import type { Stats } from '../observability/metrics.js';
import { jsonNestedDeeperThan, jsonTooDeep } from '../protocol/json-depth.js';

/**
 * Every application/json request body (API publish, batch, broadcast, topic routes) is refused
 * as bad_request when nested deeper than limits.maxJsonDepth, before it is parsed; the rest is
 * fastify's own parser, with its prototype-poisoning checks.
 */
export function limitJsonBodies(app: FastifyInstance, maxDepth: number, stats: Stats): void {
  const parse = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (jsonNestedDeeperThan(body as string, maxDepth)) {
      stats.limit('json_depth');
      done(jsonTooDeep(maxDepth), undefined);
      return;
    }
    parse(req, body as string, done);
  });
}
