/**
 * The OpenAPI 3.1 description of the server API, served at GET /api/openapi.json. It is built from
 * the route table in openapi-operations.ts, kept beside the route modules: a test compares it with
 * the routes the node registers and validates every example against its schema.
 */
import type { FastifyPluginAsync } from 'fastify';
import { errorCodes, SwitchboardError, type ErrorCode } from '../protocol/errors.js';
import { components, schemas } from './openapi-schemas.js';
import { apiOperations, type Access, type ApiOperation, type Features } from './openapi-operations.js';

const { object, ref } = schemas;

const exampleMessages: Record<ErrorCode, string> = {
  bad_request: 'request body is not valid JSON',
  unauthorized: 'a valid API key is required (Authorization: Bearer KEY or X-API-Key: KEY)',
  forbidden: 'this API key has the publish scope only; this call needs an admin key',
  not_found: 'no such session on any node',
  too_large: 'request body is larger than api.maxBodyBytes',
  limit_exceeded: 'the application has reached its limit of topics',
  rate_limited: 'publish quota exceeded; retry after 1 s',
  slow_consumer: 'the session could not keep up',
  unavailable: 'the broker is unavailable',
  backend_error: 'the backend answered 500',
  timeout: 'the backend did not answer in time',
  internal: 'internal error',
  bad_path: 'the path is not allowed',
  forbidden_target: 'the address is internal and not allowed',
};

function errorsOf(op: ApiOperation): ErrorCode[] {
  const codes = new Set<ErrorCode>(op.errors ?? []);
  if (op.access !== 'none') codes.add('unauthorized');
  if (op.access === 'admin' || op.access === 'application') codes.add('forbidden');
  if (op.body) ['bad_request', 'too_large'].forEach((c) => codes.add(c as ErrorCode));
  codes.add('internal');
  return errorCodes.filter((c) => codes.has(c));
}

function errorResponses(op: ApiOperation): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorsOf(op)) {
    const status = new SwitchboardError(code, '').httpStatus;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, unknown> = {};
  for (const [status, codes] of byStatus) {
    out[String(status)] = {
      description: codes.join(' or '),
      content: {
        'application/json': {
          schema: { allOf: [ref('Error'), object({ error: object({ code: { enum: codes } }) })] },
          examples: Object.fromEntries(codes.map((code) => [code, { value: { error: { code, message: exampleMessages[code] } } }])),
        },
      },
    };
  }
  return out;
}

const accessText: Record<Access, string> = {
  admin: 'Needs an admin key (api.keys).',
  publish: 'Takes an admin key or a publish key (api.publishKeys).',
  application: 'Takes a server admin key or an application key with one of the scopes listed.',
  none: 'Needs no key.',
};

function operationOf(op: ApiOperation): Record<string, unknown> {
  const params = [...op.path.matchAll(/:([A-Za-z]+)/g)].map(([, param]) => ({ name: param, in: 'path', required: true, schema: { type: 'string' } }));
  const query = Object.entries(op.query ?? {}).map(([param, schema]) => ({ name: param, in: 'query', required: false, schema }));
  const status = op.status ?? 200;
  const success = op.response
    ? { description: op.summary, content: { [op.contentType ?? 'application/json']: { schema: op.response, examples: { example: { value: op.example } } } } }
    : { description: op.summary };
  return {
    operationId: `${op.method.toLowerCase()}${op.path.replace(/[^A-Za-z]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: op.summary,
    description: `${accessText[op.access]}${op.scopes ? ` Scopes: ${op.scopes.join(', ')}.` : ''}`,
    tags: [op.tag],
    'x-switchboard-access': op.access,
    ...(op.scopes && { 'x-switchboard-scopes': op.scopes }),
    ...(op.access === 'none' && { security: [] }),
    ...(params.length + query.length > 0 && { parameters: [...params, ...query] }),
    ...(op.body && {
      requestBody: { required: !op.bodyOptional, content: { 'application/json': { schema: op.body, examples: { example: { value: op.requestExample } } } } },
    }),
    responses: { [String(status)]: success, ...errorResponses(op) },
  };
}

/** The operations this node serves: the gateway's and the Push-compatible ones only when they are on. */
export function operationsServed(features: Features): ApiOperation[] {
  return apiOperations.filter((op) => op.when === undefined || features[op.when]);
}

export function openApiDocument(version: string, features: Features): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operationsServed(features)) {
    const path = op.path.replace(/:([A-Za-z]+)/g, '{$1}');
    (paths[path] ??= {})[op.method.toLowerCase()] = operationOf(op);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Switchboard server API',
      version,
      description: 'The HTTP server API of a Switchboard node (docs/api.md). Every error answers {"error": {"code", "message"}} with a stable code.',
    },
    security: [{ bearer: [] }, { apiKey: [] }],
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } },
    },
  };
}

/** GET /api/openapi.json, without an API key: the description of the API holds no secret. */
export const openApiRoute: FastifyPluginAsync<{ version: string; features: Features }> = async (app, { version, features }) => {
  const document = JSON.stringify(openApiDocument(version, features));
  app.get('/api/openapi.json', async (_req, reply) => reply.type('application/json').send(document));
};
