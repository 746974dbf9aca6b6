import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer } from '../../helpers/auth.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import type { TestNode } from '../../helpers/node.js';
import { adminKey, keyedTopicsNode } from '../../helpers/topics-api.js';

const publisherKey = 'shop-publisher-key-000001';

describe('topic routes check access first, then the body against the schema /api/openapi.json serves', () => {
  let node: TestNode;
  let key: string;
  let api: (path: string) => string;

  before(async () => {
    ({ node, key, api } = await keyedTopicsNode({ id: 'app' }, { 'topics.applications': [{ id: 'shop', keys: [{ key: publisherKey, scopes: ['publish'] }] }] }));
    assert.equal((await request('POST', api('/app/topics'), { body: { name: 't' }, headers: bearer(key) })).status, 201);
  });
  after(() => node?.stop());

  it('refuses bodies outside the documented schemas with 400 bad_request and what the route expects', async () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', '/applications', { quotas: {} }, /an application is/],
      ['POST', '/app/topics', { name: 't2', retentionMs: '1h' }, /a topic is/],
      ['POST', '/app/subscriptions', { name: 's', topic: 't', ordered: 'yes' }, /a subscription is/],
      ['POST', '/app/subscriptions', { name: 's', topic: 't', push: { endpoint: 'https://example.com/hook' } }, /a subscription is/],
      ['POST', '/applications/app/keys', { scopes: ['everything'] }, /some of publish, subscribe, admin/],
      ['POST', '/app/subscriptions/s/seek', { time: 1, position: '1-0' }, /seek takes/],
      ['POST', '/app/subscriptions/s/modify-deadline', { ackIds: ['a'] }, /deadlineMs/],
    ];
    for (const [method, path, body, message] of cases) {
      const res = await request(method, api(path), { body, headers: bearer(path.startsWith('/applications') ? adminKey : key) });
      assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${res.text}`);
      assertErrorBody(res.body, 'bad_request');
      assert.match(res.body.error.message, message);
    }
  });

  it('answers 403 forbidden to a key without the scope, whatever body it sent', async () => {
    for (const body of [{ name: 't3' }, { name: 't3', retentionMs: 'not a number' }]) {
      const res = await request('POST', api('/shop/topics'), { body, headers: bearer(publisherKey) });
      assert.equal(res.status, 403, res.text);
      assertErrorBody(res.body, 'forbidden');
    }
  });

  it('accepts the bodies the documented examples show, and optional bodies left out', async () => {
    const created = await request('POST', api('/app/subscriptions'), {
      body: { name: 'sub', topic: 't', ackDeadlineMs: 30000, ordered: false, push: null },
      headers: bearer(key),
    });
    assert.equal(created.status, 201, created.text);
    const changed = await request('PATCH', api('/app/subscriptions/sub'), { body: { ackDeadlineMs: 60000 }, headers: bearer(key) });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(changed.body.name, 'sub');
    assert.equal(changed.body.ackDeadlineMs, 60000);
    const pulled = await request('POST', api('/app/subscriptions/sub/pull'), { headers: bearer(key) });
    assert.equal(pulled.status, 200, pulled.text);
    assert.deepEqual(pulled.body.messages, []);
    const sought = await request('POST', api('/app/subscriptions/sub/seek'), { body: { time: Date.now() }, headers: bearer(key) });
    assert.equal(sought.status, 200, sought.text);
  });
});
