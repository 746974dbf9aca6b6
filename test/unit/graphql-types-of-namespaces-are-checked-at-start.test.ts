import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { configProblems } from '../helpers/config.js';

const load = (namespaces: unknown) => () => loadConfig({ overrides: { 'api.insecure': true, 'channels.namespaces': namespaces } });

describe('graphqlType of a namespace', () => {
  it('is accepted as SDL whose first definition is an object type', () => {
    const config = loadConfig({ overrides: { 'api.insecure': true, 'channels.namespaces': { news: { graphqlType: 'type Story { title: String! }' } } } });
    assert.equal(config.channels.namespaces.news?.graphqlType, 'type Story { title: String! }');
  });

  it('is refused when it is not SDL, starts with something else, or defines inputs', () => {
    assert.match(configProblems(load({ news: { graphqlType: 'type {' } })).join('\n'), /news\.graphqlType: not valid GraphQL SDL/);
    assert.match(configProblems(load({ news: { graphqlType: 'enum E { A }' } })).join('\n'), /first definition must be an object type/);
    assert.match(configProblems(load({ news: { graphqlType: 'type S { a: String } input I { a: String }' } })).join('\n'), /only object types, enums and scalars/);
  });

  it('is refused on a namespace whose name is not a GraphQL field name, or when two namespaces define one type', () => {
    assert.match(configProblems(load({ 'live-news': { graphqlType: 'type Story { title: String }' } })).join('\n'), /must be a GraphQL name/);
    assert.match(configProblems(load({ user: { graphqlType: 'type Story { title: String }' } })).join('\n'), /other than channel and user/);
    assert.match(
      configProblems(load({ a: { graphqlType: 'type Story { title: String }' }, b: { graphqlType: 'type Story { body: String }' } })).join('\n'),
      /There can be only one type named "Story"/,
    );
  });
});
