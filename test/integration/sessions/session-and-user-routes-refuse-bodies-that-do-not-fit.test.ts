import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';

describe('session and user routes refuse bodies that do not fit', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({});
  });
  after(() => t.stop());

  it('answers 400 bad_request naming {"data": ...} to a send without data, whatever the body is instead', async () => {
    for (const path of ['/api/sessions/nobody/messages', '/api/users/someone/messages']) {
      // '"text"' is sent as it is: a JSON string.
      for (const body of [{}, [], '"text"', { date: 1 }, undefined]) {
        const res = await request('POST', `${t.url}${path}`, { body });
        assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}: ${res.text}`);
        assertErrorBody(res.body, 'bad_request');
        assert.equal(res.body.error.message, 'expected {"data": ...}');
      }
    }
  });

  it('answers 400 bad_request naming {"channel": "..."} to a subscribe whose channel is not a string, even a number', async () => {
    for (const kind of ['subscribe', 'unsubscribe']) {
      for (const body of [{}, { channel: 5 }, { channel: null }, ['news']]) {
        const res = await request('POST', `${t.url}/api/users/someone/${kind}`, { body });
        assert.equal(res.status, 400, `${kind} ${JSON.stringify(body)}: ${res.text}`);
        assertErrorBody(res.body, 'bad_request');
        assert.equal(res.body.error.message, 'expected {"channel": "..."}');
      }
    }
  });

  it('takes any JSON value as data, null included, and then looks for the session', async () => {
    const toUser = await request('POST', `${t.url}/api/users/someone/messages`, { body: { data: null } });
    assert.deepEqual([toUser.status, toUser.body], [200, { sessions: 0 }]);
    const toSession = await request('POST', `${t.url}/api/sessions/nobody/messages`, { body: { data: { note: 'hi' } } });
    assert.equal(toSession.status, 404, toSession.text);
    assertErrorBody(toSession.body, 'not_found');
    const subscribed = await request('POST', `${t.url}/api/users/someone/subscribe`, { body: { channel: 'news' } });
    assert.deepEqual([subscribed.status, subscribed.body], [200, { sessions: 0 }]);
  });
});
