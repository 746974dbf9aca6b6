import type { RouteShorthandOptions } from 'fastify';
import { SwitchboardError } from '../protocol/errors.js';
import type { Schema } from './openapi-schemas.js';

/**
 * Route options that check a JSON body against `schema` (one of the OpenAPI components, so the
 * document and the check agree) before the handler runs; a body that does not fit is refused as
 * bad_request with `message`, which says what the route expects.
 */
export function bodySchema(schema: Schema, message: string): RouteShorthandOptions {
  return { schema: { body: schema }, schemaErrorFormatter: () => new SwitchboardError('bad_request', message) };
}
