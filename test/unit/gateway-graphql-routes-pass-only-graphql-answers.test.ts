import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptGraphqlAnswer } from '../../src/gateway/graphql-http.js';
import { UpstreamError } from '../../src/gateway/upstream-error.js';

/** A graphql route passes what a GraphQL client can read and refuses the rest as a bad answer of the instance. */
describe('GraphQL answers of a graphql route', () => {
  it('passes GraphQL responses, their streams and answers without a body', () => {
    for (const type of [
      'application/graphql-response+json; charset=utf-8',
      'application/json',
      'Application/JSON;charset=utf-8',
      'text/event-stream',
      'multipart/mixed; boundary="-"',
    ]) {
      assert.doesNotThrow(() => acceptGraphqlAnswer(200, ['content-type', type]), type);
      assert.doesNotThrow(() => acceptGraphqlAnswer(400, ['x-other', 'a', 'content-type', type]), type);
    }
    assert.doesNotThrow(() => acceptGraphqlAnswer(204, []));
    assert.doesNotThrow(() => acceptGraphqlAnswer(304, []));
  });

  it('refuses any other answer as bad_response, naming what came', () => {
    const cases: [number, string[], RegExp][] = [
      [200, ['content-type', 'text/html'], /answered 200 with text\/html, not a GraphQL response/],
      [502, ['content-type', 'text/plain'], /answered 502 with text\/plain/],
      [200, [], /answered 200 without a content type/],
      [200, ['content-type', 'application/jsonp'], /application\/jsonp/],
    ];
    for (const [status, headers, message] of cases) {
      assert.throws(
        () => acceptGraphqlAnswer(status, headers),
        (err: unknown) => err instanceof UpstreamError && err.reason === 'bad_response' && message.test(err.message),
      );
    }
  });
});
