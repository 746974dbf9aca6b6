import type { RouteShorthandOptions } from 'fastify';
import { SwitchboardError } from '../protocol/errors.js';
import { apiOperations, type ApiOperation } from './openapi-operations.js';
import { components, type Schema } from './openapi-schemas.js';

/**
 * Route options that check the body, before the handler runs, against the schema the API
 * description gives the route (`openapi-operations-*.ts`, served at /api/openapi.json), its
 * component references resolved; a body the route may go without may be absent. A body that does
 * not fit is refused as bad_request with `message`, which says what the route expects.
 */
export function describedBody(method: ApiOperation['method'], path: string, message: string): RouteShorthandOptions {
  const op = apiOperations.find((o) => o.method === method && o.path === path);
  if (!op?.body) throw new Error(`the API description gives ${method} ${path} no body`);
  const schema = resolveRefs(op.body);
  return { schema: { body: op.bodyOptional ? { anyOf: [{ type: 'null' }, schema] } : schema }, schemaErrorFormatter: () => new SwitchboardError('bad_request', message) };
}

const componentPrefix = '#/components/schemas/';

/** The schema with each `$ref` to a component replaced by the component (keywords beside a `$ref` are kept). */
function resolveRefs(schema: unknown): Schema {
  if (Array.isArray(schema)) return schema.map(resolveRefs) as unknown as Schema;
  if (schema === null || typeof schema !== 'object') return schema as Schema;
  const { $ref, ...rest } = schema as Schema;
  const resolved: Schema = {};
  if (typeof $ref === 'string' && $ref.startsWith(componentPrefix)) Object.assign(resolved, resolveRefs(components[$ref.slice(componentPrefix.length)]));
  for (const [key, value] of Object.entries(rest)) resolved[key] = resolveRefs(value);
  return resolved;
}
