import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { RouteOptions } from 'fastify';
import { publishRoutes } from '../../../src/auth/api-keys.js';
import { loadConfig } from '../../../src/config/load.js';
import { SwitchboardNode } from '../../../src/node.js';
import { get } from '../../helpers/node.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
type Doc = { paths: Record<string, Record<string, any>> };

/** A JSON pointer into the document, as ajv reads it from a schema id's fragment. */
const pointer = (...segments: string[]) => `openapi#/${segments.map((s) => encodeURIComponent(s.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/')}`;

describe('the OpenAPI document at /api/openapi.json', () => {
  let node: SwitchboardNode;
  let url: string;
  let doc: Doc;
  const registered = new Set<string>();

  before(async () => {
    const config = loadConfig({
      overrides: {
        'server.host': '127.0.0.1',
        'server.port': 0,
        'api.keys': ['admin-key-for-openapi'],
        'log.level': 'silent',
        'gateway.enabled': true,
        'compat.push.enabled': true,
        'admin.enabled': true,
      },
    });
    node = await SwitchboardNode.create(config);
    // Route modules register inside plugins, which load at start: this hook sees every one of them.
    node.app.addHook('onRoute', (route: RouteOptions) => {
      for (const method of [route.method].flat()) {
        if (method !== 'HEAD' && (route.url.startsWith('/api/') || route.url === '/messages')) registered.add(`${method} ${route.url}`);
      }
    });
    await node.start();
    url = `http://127.0.0.1:${node.port}`;
  });
  after(() => node?.stop());

  it('is served without an API key while the rest of /api needs one', async () => {
    const answer = await get(`${url}/api/openapi.json`);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.openapi, '3.1.0');
    doc = answer.body;
    assert.equal((await get(`${url}/api/info`)).status, 401);
  });

  it('describes every API, topic and gateway admin route the node registers, and no other', () => {
    const documented = new Set<string>();
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) documented.add(`${method.toUpperCase()} ${path.replace(/\{([A-Za-z]+)\}/g, ':$1')}`);
    }
    assert.ok(registered.size > 50, `only ${registered.size} routes seen`);
    assert.deepEqual(
      [...registered].filter((r) => !documented.has(r)),
      [],
      'routes missing from the document',
    );
    assert.deepEqual(
      [...documented].filter((r) => !registered.has(r)),
      [],
      'documented routes the node does not serve',
    );
  });

  it('says a publish key may call exactly the routes the key check lets it call', () => {
    const publish = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, op]) => op['x-switchboard-access'] === 'publish')
        .map(([method]) => `${method.toUpperCase()} ${path.replace(/\{([A-Za-z]+)\}/g, ':$1')}`),
    );
    assert.deepEqual(publish.sort(), [...publishRoutes].sort());
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(doc) as never);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  });

  it('has examples for every body, answer and error, each valid against its schema', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(doc, 'openapi');
    let checked = 0;
    const check = (where: string[], content: Record<string, any>) => {
      for (const [type, media] of Object.entries(content)) {
        const examples = Object.entries(media.examples ?? {}) as [string, { value: unknown }][];
        assert.ok(examples.length > 0, `no example at ${where.join(' ')} ${type}`);
        const validate = ajv.getSchema(pointer(...where, 'content', type, 'schema'));
        assert.ok(validate, `no schema at ${where.join(' ')}`);
        for (const [exampleName, { value }] of examples) {
          assert.notEqual(value, undefined, `example ${exampleName} at ${where.join(' ')} has no value`);
          assert.ok(validate(value), `example ${exampleName} at ${where.join(' ')}: ${ajv.errorsText(validate.errors)}`);
          checked++;
        }
      }
    };
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (op.requestBody) check(['paths', path, method, 'requestBody'], op.requestBody.content);
        for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
          if (response.content) check(['paths', path, method, 'responses', status], response.content);
          else assert.equal(status, '204', `${method} ${path} answers ${status} without a body`);
        }
        assert.ok(op.responses['500'], `${method} ${path} does not list internal errors`);
      }
    }
    assert.ok(checked > 150, `only ${checked} examples checked`);
  });

  it('rejects an example that does not match its schema', () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    ajv.addSchema(doc, 'openapi');
    const validate = ajv.getSchema(pointer('paths', '/api/publish', 'post', 'requestBody', 'content', 'application/json', 'schema'))!;
    assert.equal(validate({ channel: 'news' }), false);
    const error = ajv.getSchema(pointer('paths', '/api/publish', 'post', 'responses', '400', 'content', 'application/json', 'schema'))!;
    assert.equal(error({ error: { code: 'not_found', message: 'x' } }), false);
  });
});
