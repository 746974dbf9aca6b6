import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hmacToken } from '../../helpers/auth.js';
import { graphqlWsClient, run } from '../../helpers/graphql.js';
import { get, post, startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

describe('GraphQL user subscriptions receive messages sent to the user', () => {
  const secret = 'graphql-user-secret';
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'graphql.enabled': true, 'auth.anonymous': false, 'auth.jwt.secrets': [secret] });
  });
  after(() => t.stop());

  it('gets POST /api/users/{id}/messages as a result on the personal channel, like what is published to it', async () => {
    const client = graphqlWsClient(t.wsUrl, { connectionParams: { token: await hmacToken(secret, { sub: 'grace' }) } });
    try {
      const op = run(client, 'subscription { user { channel data } }');
      await waitUntil(async () => (await get(`${t.url}/api/sessions?user=grace`)).body.sessions?.length === 1, 5000, 'the session');
      // A publication first: once it arrives, the operation is running.
      await post(`${t.url}/api/publish`, { channel: 'user:grace', data: { text: 'published' } });
      assert.deepEqual(await op.next(), { data: { user: { channel: 'user:grace', data: { text: 'published' } } } });
      const sent = await post(`${t.url}/api/users/grace/messages`, { data: { text: 'direct' } });
      assert.equal(sent.status, 200);
      assert.deepEqual(await op.next(), { data: { user: { channel: 'user:grace', data: { text: 'direct' } } } });
    } finally {
      await client.dispose();
    }
  });
});
