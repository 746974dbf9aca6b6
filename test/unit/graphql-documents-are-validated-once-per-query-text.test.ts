import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSchema, parse, type DocumentNode } from 'graphql';
import { ValidatedDocuments } from '../../src/graphql/validated-documents.js';
import type { Stats } from '../../src/observability/metrics.js';
import { prepareOperation } from '../../src/transports/graphql.js';

const schema = buildSchema('type Query { hello: String }');
const stats = { limit() {}, error() {} } as unknown as Stats;

describe('GraphQL documents are parsed and validated once per query text', () => {
  it('answers the same document for the same query text, with the variables of each request', () => {
    const documents = new ValidatedDocuments(10);
    const first = prepareOperation(schema, documents, 1000, stats, { query: '{ hello }', variables: { a: 1 } });
    const second = prepareOperation(schema, documents, 1000, stats, { query: '{ hello }', variables: { a: 2 } });
    assert.ok(!Array.isArray(first) && !Array.isArray(second));
    assert.equal(second.document, first.document);
    assert.deepEqual(second.variableValues, { a: 2 });
  });

  it('keeps no invalid document, so its errors are answered every time', () => {
    const documents = new ValidatedDocuments(10);
    for (let i = 0; i < 2; i++) {
      const prepared = prepareOperation(schema, documents, 1000, stats, { query: '{ nope }' });
      assert.ok(Array.isArray(prepared));
      assert.equal(prepared[0]!.extensions.code, 'bad_request');
    }
    assert.equal(documents.get('{ nope }'), undefined);
  });

  it('forgets the least recently used document beyond its capacity', () => {
    const documents = new ValidatedDocuments(2);
    const doc = (query: string): DocumentNode => parse(query);
    documents.set('{ a }', doc('{ a }'));
    documents.set('{ b }', doc('{ b }'));
    assert.ok(documents.get('{ a }'));
    documents.set('{ c }', doc('{ c }'));
    assert.ok(documents.get('{ a }'));
    assert.equal(documents.get('{ b }'), undefined);
    assert.ok(documents.get('{ c }'));
  });
});
