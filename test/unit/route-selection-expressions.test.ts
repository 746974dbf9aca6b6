import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SelectionExpression } from '../../src/config/selection.js';

describe('route selection expressions', () => {
  it('read a top-level field', () => {
    assert.equal(new SelectionExpression('$.action').keyOf({ action: 'join' }), 'join');
  });

  it('read nested fields, array items and quoted names', () => {
    const data = { meta: { 'the kind': 'x' }, items: [{ type: 'first' }, { type: 'second' }] };
    assert.equal(new SelectionExpression("$.meta['the kind']").keyOf(data), 'x');
    assert.equal(new SelectionExpression('$.items[1].type').keyOf(data), 'second');
  });

  it("accept AWS's $request.body prefix", () => {
    assert.equal(new SelectionExpression('$request.body.action').keyOf({ action: 'sendmessage' }), 'sendmessage');
  });

  it('turn numbers and booleans into text and give nothing for objects, null or missing fields', () => {
    const e = new SelectionExpression('$.v');
    assert.equal(e.keyOf({ v: 3 }), '3');
    assert.equal(e.keyOf({ v: true }), 'true');
    assert.equal(e.keyOf({ v: { nested: 1 } }), undefined);
    assert.equal(e.keyOf({ v: null }), undefined);
    assert.equal(e.keyOf({}), undefined);
    assert.equal(e.keyOf('a string'), undefined);
  });

  it('read own fields only, never inherited ones', () => {
    assert.equal(new SelectionExpression('$.toString').keyOf({ toString: 'own' }), 'own');
    assert.equal(new SelectionExpression('$.constructor').keyOf({}), undefined);
  });

  it('refuse expressions that do not start with $ or cannot be read', () => {
    assert.throws(() => new SelectionExpression('action'), /must start with \$/);
    assert.throws(() => new SelectionExpression('$.a..b'), /cannot read/);
    assert.throws(() => new SelectionExpression('$'), /selects nothing/);
  });
});
