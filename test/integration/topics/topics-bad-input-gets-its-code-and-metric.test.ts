import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer } from '../../helpers/auth.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import type { TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { adminKey, keyedTopicsNode } from '../../helpers/topics-api.js';
import { waitUntil } from '../../helpers/wait.js';

describe('bad input to the topics API gets a defined answer, a stable code and a metric', () => {
  let node: TestNode;
  let key: string;
  let api: (path: string) => string;

  before(async () => {
    ({ node, key, api } = await keyedTopicsNode(
      { id: 'app' },
      {
        'topics.maxBatchSize': 5,
        'topics.maxRequestBytes': '1KiB',
        'topics.quotas.maxMessageBytes': 200,
        'topics.maxAttributes': 3,
        'topics.maxAttributeKeyBytes': 8,
        'topics.maxAttributeValueBytes': 400,
        'topics.maxKeyBytes': 12,
        'topics.applications': [{ id: 'tiny', keys: [{ key: 'tiny-publisher-key-0001', scopes: ['publish'] }], quotas: { messagesPerSecond: 3, maxTopics: 1 } }],
      },
    ));
    await request('POST', api('/app/topics'), { body: { name: 't' }, headers: bearer(key) });
    await request('POST', api('/app/subscriptions'), { body: { name: 's', topic: 't', ackDeadlineMs: 300 }, headers: bearer(key) });
  });
  after(() => node?.stop());

  it('refuses a message over the size quota with 413 too_large, and counts it', async () => {
    const res = await request('POST', api('/app/topics/t/publish'), { body: { data: 'x'.repeat(300) }, headers: bearer(key) });
    assert.equal(res.status, 413);
    assertErrorBody(res.body, 'too_large');
    assert.ok((await scrape(node.url)).value('switchboard_topic_publish_rejected_total', { reason: 'too_large' }) >= 1);
  });

  it('refuses a batch over topics.maxBatchSize as a whole', async () => {
    const res = await request('POST', api('/app/topics/t/publish'), { body: { messages: Array.from({ length: 6 }, (_, i) => ({ data: i })) }, headers: bearer(key) });
    assert.equal(res.status, 413);
    assertErrorBody(res.body, 'too_large');
    assert.equal((await scrape(node.url)).value('switchboard_topic_publish_rejected_total', { reason: 'batch_too_large' }), 1);
  });

  it('refuses a publish body over topics.maxRequestBytes with 413 too_large', async () => {
    const res = await request('POST', api('/app/topics/t/publish'), {
      body: {
        messages: [
          { data: 'y'.repeat(150) },
          { data: 'z'.repeat(150) },
          { data: 'w'.repeat(150) },
          { data: 'v'.repeat(150) },
          { data: 'u'.repeat(150) },
          { data: 't'.repeat(150) },
          { data: 's'.repeat(150) },
        ],
      },
      headers: bearer(key),
    });
    assert.equal(res.status, 413);
    assertErrorBody(res.body, 'too_large');
    assert.equal((await scrape(node.url)).value('switchboard_limit_hits_total', { limit: 'body_size' }), 1);
  });

  it('refuses attributes and keys over their configured limits with 400 bad_request naming the setting, and counts them', async () => {
    await request('POST', api('/app/topics'), { body: { name: 'limits' }, headers: bearer(key) });
    const before = (await scrape(node.url)).value('switchboard_topic_publish_rejected_total', { reason: 'bad_request' });
    // Two publishes: this node's topics.maxBatchSize is 5.
    const publish = async (messages: unknown[]) => {
      const res = await request('POST', api('/app/topics/limits/publish'), { body: { messages }, headers: bearer(key) });
      assert.equal(res.status, 200, res.text);
      return res.body.results.map((r: any) => r.error?.message ?? 'stored');
    };
    const errors = [
      ...(await publish([
        { data: 1, attributes: { a: '1', b: '2', c: '3', d: '4' } },
        { data: 2, attributes: { 'long-key-x': '1' } },
        { data: 3, attributes: { a: 'v'.repeat(401) } },
      ])),
      ...(await publish([
        { data: 4, orderingKey: 'k'.repeat(13) },
        { data: 5, idempotencyKey: 'i'.repeat(13) },
        { data: 6, attributes: { keykeyk1: '1', keykeyk2: '2', keykeyk3: '3' }, orderingKey: 'k'.repeat(12), idempotencyKey: 'i'.repeat(12) },
      ])),
    ];
    assert.match(errors[0], /topics\.maxAttributes/);
    assert.match(errors[1], /topics\.maxAttributeKeyBytes/);
    assert.match(errors[2], /topics\.maxAttributeValueBytes/);
    assert.match(errors[3], /orderingKey.*topics\.maxKeyBytes/);
    assert.match(errors[4], /idempotencyKey.*topics\.maxKeyBytes/);
    assert.equal(errors[5], 'stored', 'values at the limits are stored');
    assert.equal((await scrape(node.url)).value('switchboard_topic_publish_rejected_total', { reason: 'bad_request' }), before + 5);
  });

  it('stores the good items of a batch and gives each bad one its own error', async () => {
    const res = await request('POST', api('/app/topics/t/publish'), {
      body: { messages: [{ data: 'good' }, 'not an object', { attributes: { a: 'b' } }, { data: 1, attributes: { n: 5 } }, { data: 'big', attributes: { x: 'y'.repeat(300) } }] },
      headers: bearer(key),
    });
    assert.equal(res.status, 200, res.text);
    const [good, ...bad] = res.body.results;
    assert.equal(typeof good.id, 'string');
    assert.deepEqual(
      bad.map((r: { error: { code: string } }) => r.error.code),
      ['bad_request', 'bad_request', 'bad_request', 'too_large'],
    );
    const pulled = await request('POST', api('/app/subscriptions/s/pull'), { body: { maxMessages: 10, waitMs: 1000 }, headers: bearer(key) });
    assert.deepEqual(
      pulled.body.messages.map((m: { message: { data: unknown } }) => m.message.data),
      ['good'],
    );
    await request('POST', api('/app/subscriptions/s/ack'), { body: { ackIds: pulled.body.messages.map((m: { ackId: string }) => m.ackId) }, headers: bearer(key) });
  });

  it('answers 404 not_found for an unknown application, topic or subscription', async () => {
    for (const [method, path] of [
      ['GET', '/nobody/topics'],
      ['POST', '/app/topics/missing/publish'],
      ['POST', '/app/subscriptions/missing/pull'],
      ['POST', '/app/subscriptions/missing/ack'],
    ] as const) {
      const res = await request(method, api(path), { body: method === 'POST' ? { data: 1, ackIds: ['x'] } : undefined, headers: bearer(adminKey) });
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      assertErrorBody(res.body, 'not_found');
    }
  });

  it('refuses a missing, wrong or revoked key with 401 and a key of another application or scope with 403', async () => {
    assert.equal((await request('GET', api('/app/topics'))).status, 401);
    assertErrorBody((await request('GET', api('/app/topics'), { headers: bearer('sbk_app_wrongwrongwrongwrongwrongwrongwron') })).body, 'unauthorized');
    const extra = await request('POST', api('/applications/app/keys'), { body: { scopes: ['subscribe'] }, headers: bearer(key) });
    assert.equal(extra.status, 201, extra.text);
    assert.equal((await request('GET', api('/app/subscriptions'), { headers: bearer(extra.body.key) })).status, 200);
    const publishWithSubscribeKey = await request('POST', api('/app/topics/t/publish'), { body: { data: 1 }, headers: bearer(extra.body.key) });
    assert.equal(publishWithSubscribeKey.status, 403);
    assertErrorBody(publishWithSubscribeKey.body, 'forbidden');
    assert.equal((await request('DELETE', api(`/applications/app/keys/${extra.body.id}`), { headers: bearer(key) })).status, 204);
    const revoked = await request('GET', api('/app/subscriptions'), { headers: bearer(extra.body.key) });
    assert.equal(revoked.status, 401);
    assertErrorBody(revoked.body, 'unauthorized');
    const otherApp = await request('GET', api('/tiny/topics'), { headers: bearer(key) });
    assert.equal(otherApp.status, 403);
    const appKeyOnServerCall = await request('GET', api('/applications'), { headers: bearer(key) });
    assert.equal(appKeyOnServerCall.status, 403);
  });

  it('answers 429 rate_limited with Retry-After over the messages-per-second quota', async () => {
    await request('POST', api('/tiny/topics'), { body: { name: 'only' }, headers: bearer(adminKey) });
    const first = await request('POST', api('/tiny/topics/only/publish'), {
      body: { messages: [{ data: 1 }, { data: 2 }, { data: 3 }] },
      headers: bearer('tiny-publisher-key-0001'),
    });
    assert.equal(first.status, 200, first.text);
    const over = await request('POST', api('/tiny/topics/only/publish'), { body: { data: 4 }, headers: bearer('tiny-publisher-key-0001') });
    assert.equal(over.status, 429);
    assertErrorBody(over.body, 'rate_limited');
    assert.ok(Number(over.headers.get('retry-after')) >= 1);
    assert.equal((await scrape(node.url)).value('switchboard_topic_quota_hits_total', { application: 'tiny', quota: 'messages_per_second' }), 1);
  });

  it('answers 409 limit_exceeded over the topic count quota', async () => {
    const res = await request('POST', api('/tiny/topics'), { body: { name: 'second' }, headers: bearer(adminKey) });
    assert.equal(res.status, 409);
    assertErrorBody(res.body, 'limit_exceeded');
  });

  it('answers each unknown or expired ack id with its own error, and counts them', async () => {
    await request('POST', api('/app/topics/t/publish'), { body: { data: 'late' }, headers: bearer(key) });
    const first = await request('POST', api('/app/subscriptions/s/pull'), { body: { maxMessages: 1, waitMs: 1000 }, headers: bearer(key) });
    const stale = first.body.messages[0].ackId;
    let fresh: string | undefined;
    await waitUntil(
      async () => {
        const again = await request('POST', api('/app/subscriptions/s/pull'), { body: { maxMessages: 1, waitMs: 500 }, headers: bearer(key) });
        fresh = again.body.messages[0]?.ackId;
        return fresh !== undefined;
      },
      5000,
      'the redelivery after the deadline',
    );
    const res = await request('POST', api('/app/subscriptions/s/ack'), { body: { ackIds: ['made-up', stale, fresh] }, headers: bearer(key) });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.results.map((r: { ok?: boolean; error?: { code: string } }) => r.error?.code ?? 'ok'),
      ['not_found', 'timeout', 'ok'],
    );
    const metrics = await scrape(node.url);
    assert.equal(metrics.value('switchboard_topic_ack_ids_rejected_total', { reason: 'unknown' }), 1);
    assert.equal(metrics.value('switchboard_topic_ack_ids_rejected_total', { reason: 'expired' }), 1);
    const malformed = await request('POST', api('/app/subscriptions/s/ack'), { body: { ackIds: 'nope' }, headers: bearer(key) });
    assert.equal(malformed.status, 400);
    assertErrorBody(malformed.body, 'bad_request');
  });

  it('refuses a delivery time beyond the retention, both deliverAt and delay, and bad pull arguments', async () => {
    await request('POST', api('/app/topics'), { body: { name: 'short', retentionMs: 1000 }, headers: bearer(key) });
    const beyond = await request('POST', api('/app/topics/short/publish'), { body: { data: 1, delay: '5s' }, headers: bearer(key) });
    assert.equal(beyond.status, 400);
    const both = await request('POST', api('/app/topics/t/publish'), { body: { data: 1, delay: 10, deliverAt: Date.now() }, headers: bearer(key) });
    assert.equal(both.status, 400);
    const tooMany = await request('POST', api('/app/subscriptions/s/pull'), { body: { maxMessages: 1_000_000 }, headers: bearer(key) });
    assert.equal(tooMany.status, 400);
    assertErrorBody(tooMany.body, 'bad_request');
  });
});
