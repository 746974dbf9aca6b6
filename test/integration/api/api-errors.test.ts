import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

describe('API error answers', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'api.maxBodyBytes': '1KiB' });
  });
  after(() => t.stop());

  /** A publish body of exactly `bytes` bytes. */
  function bodyOf(bytes: number): string {
    const empty = JSON.stringify({ channel: 'big', data: '' });
    return JSON.stringify({ channel: 'big', data: 'x'.repeat(bytes - empty.length) });
  }

  it('accepts a body of exactly api.maxBodyBytes', async () => {
    const body = bodyOf(1024);
    assert.equal(Buffer.byteLength(body), 1024);
    const res = await request('POST', `${t.url}/api/publish`, { body });
    assert.equal(res.status, 200);
  });

  it('answers a body over api.maxBodyBytes with 413 too_large and counts the limit', async () => {
    const before = await scrape(t.url);
    const res = await request('POST', `${t.url}/api/publish`, { body: bodyOf(1025) });
    assert.equal(res.status, 413);
    assertErrorBody(res.body, 'too_large');
    assert.match(res.body.error.message, /api\.maxBodyBytes/);
    const after = await scrape(t.url);
    assert.equal(after.value('switchboard_limit_hits_total', { limit: 'body_size' }) - before.value('switchboard_limit_hits_total', { limit: 'body_size' }), 1);
    assert.equal(after.value('switchboard_errors_total', { code: 'too_large' }) - before.value('switchboard_errors_total', { code: 'too_large' }), 1);
  });

  it('answers a large body sent in chunks, without a length, with 413 too_large', async () => {
    const chunks = [bodyOf(4096)];
    const stream = new ReadableStream({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const res = await fetch(`${t.url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 413);
    assertErrorBody(await res.json(), 'too_large');
  });

  it('answers invalid JSON with 400 bad_request and counts it', async () => {
    const before = (await scrape(t.url)).value('switchboard_errors_total', { code: 'bad_request' });
    for (const body of ['{"channel":', '{channel: "x"}', 'not json at all']) {
      const res = await request('POST', `${t.url}/api/publish`, { body });
      assert.equal(res.status, 400, body);
      assertErrorBody(res.body, 'bad_request');
    }
    const after = (await scrape(t.url)).value('switchboard_errors_total', { code: 'bad_request' });
    assert.equal(after - before, 3);
  });

  it('answers an empty JSON body and an unsupported content type with 400 bad_request', async () => {
    const empty = await request('POST', `${t.url}/api/publish`, { body: '', headers: { 'content-type': 'application/json' } });
    assert.equal(empty.status, 400);
    assertErrorBody(empty.body, 'bad_request');
    const xml = await request('POST', `${t.url}/api/publish`, { body: '<publish/>', headers: { 'content-type': 'application/xml' } });
    assert.equal(xml.status, 400);
    assertErrorBody(xml.body, 'bad_request');
  });

  it('answers unknown routes and methods with 404 not_found', async () => {
    const before = (await scrape(t.url)).value('switchboard_errors_total', { code: 'not_found' });
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/api/nope'],
      ['POST', '/api/publish/extra'],
      ['PUT', '/api/publish'],
      ['GET', '/api/publish'],
    ] as const) {
      const res = await request(method, `${t.url}${path}`);
      assert.equal(res.status, 404, `${method} ${path}`);
      assertErrorBody(res.body, 'not_found');
      assert.match(res.body.error.message, new RegExp(`${method} ${path.replace(/\//g, '\\/')}$`));
    }
    const after = (await scrape(t.url)).value('switchboard_errors_total', { code: 'not_found' });
    assert.equal(after - before, 5);
  });

  it('answers a WebSocket upgrade on an unknown path with 404 and the same error body', async () => {
    await assert.rejects(connectWs(`${t.wsUrl}/ws/nope`), (err: Error & { status?: number; body?: string }) => {
      assert.equal(err.status, 404);
      assertErrorBody(JSON.parse(err.body!), 'not_found');
      return true;
    });
  });

  it('answers JSON with the application/json content type', async () => {
    const res = await request('GET', `${t.url}/nope`);
    assert.match(String(res.headers.get('content-type')), /^application\/json/);
  });
});
