import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonNestedDeeperThan, jsonTooDeep } from '../../src/protocol/json-depth.js';

describe('JSON nesting depth read from the text', () => {
  it('counts arrays and objects, and compares with the limit', () => {
    assert.equal(jsonNestedDeeperThan('1', 1), false);
    assert.equal(jsonNestedDeeperThan('[{"a":[1]}]', 3), false);
    assert.equal(jsonNestedDeeperThan('[{"a":[1]}]', 2), true);
    assert.equal(jsonNestedDeeperThan('[[],[],[[]]]', 3), false);
    assert.equal(jsonNestedDeeperThan('[[],[],[[[]]]]', 3), true);
  });

  it('ignores brackets inside strings, also after escaped quotes and backslashes', () => {
    assert.equal(jsonNestedDeeperThan('["[[[[{{{{"]', 1), false);
    assert.equal(jsonNestedDeeperThan('["\\"[[[["]', 1), false);
    assert.equal(jsonNestedDeeperThan('["\\\\",[[1]]]', 2), true);
    assert.equal(jsonNestedDeeperThan('{"[":"]","{":{"}":1}}', 2), false);
  });

  it('reads 400,000 levels without recursion', () => {
    assert.equal(jsonNestedDeeperThan(`${'['.repeat(400_000)}${']'.repeat(400_000)}`, 64), true);
  });

  it('has one refusal: bad_request naming the limit and its setting', () => {
    const err = jsonTooDeep(3);
    assert.equal(err.code, 'bad_request');
    assert.match(err.message, /deeper than 3 levels .*limits\.maxJsonDepth/);
  });
});
