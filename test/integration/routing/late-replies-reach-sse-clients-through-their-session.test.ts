import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hmacToken, startHookServer, bearer, type HookServer } from '../../helpers/auth.js';
import { connectSse, type SseEvent, type StreamClient } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';

describe("frames over HTTP that name the client's SSE session", () => {
  const secret = 'late-replies-secret';
  let backend: HookServer;
  let node: TestNode;
  let sse: StreamClient<SseEvent>;
  let session: string;
  let sessionSecret: string;
  let aliceToken: string;

  before(async () => {
    backend = await startHookServer(() => ({ status: 202, body: '' }));
    node = await startNode({
      'auth.jwt.secrets': [secret],
      'routing.backends': { reports: backend.url },
      'routing.routes': [{ key: 'report.build', backend: 'reports' }],
    });
    aliceToken = await hmacToken(secret, { sub: 'alice' });
    sse = await connectSse(`${node.url}/sse?channels=news`, bearer(aliceToken));
    ({ session, sessionSecret } = JSON.parse((await sse.next((e) => e.event === 'welcome')).data));
  });

  after(async () => {
    sse?.close();
    await node?.stop();
    await backend?.stop();
  });

  it("act for that session, so a backend's late reply arrives on the stream", async () => {
    const answer = await post(
      `${node.url}/frames?session=${session}`,
      { type: 'rpc', id: 4, method: 'report.build' },
      { ...bearer(aliceToken), 'x-switchboard-session-secret': sessionSecret },
    );
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, []);
    assert.equal(backend.calls.at(-1)!.body.session, session);
    assert.equal(backend.calls.at(-1)!.body.replyTo, 4);
    await post(`${node.url}/api/sessions/${session}/replies`, { id: 4, data: { url: '/reports/1' } });
    const reply = await sse.next((e) => e.event === 'reply');
    assert.deepEqual(JSON.parse(reply.data), { type: 'reply', id: 4, data: { url: '/reports/1' } });
  });

  it('answer bad_request to a frame whose backend answers later when no session is named', async () => {
    const answer = await post(`${node.url}/frames`, { type: 'rpc', id: 5, method: 'report.build' }, bearer(aliceToken));
    assert.equal(answer.body[0].error.code, 'bad_request');
    assert.match(answer.body[0].error.message, /\?session=/);
  });

  it("refuse another user's session and a session that does not exist", async () => {
    const bob = await hmacToken(secret, { sub: 'bob' });
    const foreign = await post(`${node.url}/frames?session=${session}`, { type: 'ping', id: 1 }, { ...bearer(bob), 'x-switchboard-session-secret': sessionSecret });
    assert.equal(foreign.status, 403);
    const gone = await post(
      `${node.url}/frames?session=00000000-0000-0000-0000-000000000000`,
      { type: 'ping', id: 1 },
      { ...bearer(aliceToken), 'x-switchboard-session-secret': sessionSecret },
    );
    assert.equal(gone.status, 404);
  });
});
