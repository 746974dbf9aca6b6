import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hmacToken } from '../../helpers/auth.js';
import { assertErrorBody } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { rawHttp, type RawRequest } from '../../helpers/raw-http.js';

const secret = 'malformed-cookie-test-secret-long-enough';

/** Cookie values that are not valid percent-encoding. */
const malformed = ['%', '%zz', '%E0%A4%A'];

const transports: RawRequest[] = [
  { method: 'GET', target: '/ws?channels=news', upgrade: true },
  { method: 'GET', target: '/ws/messages?channels=news', upgrade: true },
  { method: 'GET', target: '/sse?channels=news' },
  { method: 'GET', target: '/sse/messages?channels=news' },
  { method: 'GET', target: '/stream?channels=news' },
  { method: 'GET', target: '/poll?channels=news' },
  { method: 'POST', target: '/frames', headers: ['Content-Type: application/json'], body: '{"type":"ping"}' },
];

describe('a token cookie that is not valid percent-encoding', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'auth.anonymous': false, 'auth.jwt.secrets': [secret], 'compat.push.enabled': true });
  });
  after(() => t?.stop());

  it('is refused with 401 unauthorized on every client transport, and the node keeps serving', async () => {
    for (const value of malformed) {
      for (const req of transports) {
        const answer = await rawHttp(t.node.port, { ...req, headers: [...(req.headers ?? []), `Cookie: other=1; switchboard_token=${value}`] });
        assert.equal(answer.status, 401, `${req.target} with cookie ${value}: ${answer.text}`);
        assertErrorBody(JSON.parse(answer.body), 'unauthorized');
      }
    }
    const token = await hmacToken(secret, { sub: 'alice' });
    const ok = await rawHttp(t.node.port, { method: 'GET', target: '/ws?channels=news', upgrade: true, headers: [`Cookie: switchboard_token=${encodeURIComponent(token)}`] });
    assert.equal(ok.status, 101);
  });
});
