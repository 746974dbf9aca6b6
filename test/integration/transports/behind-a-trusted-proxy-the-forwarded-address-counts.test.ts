import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { get, startNode } from '../../helpers/node.js';

const ipsOf = async (url: string): Promise<string[]> =>
  (await get(`${url}/api/sessions`)).body.sessions.map((s: { remote: string }) => s.remote.slice(0, s.remote.lastIndexOf(':'))).sort();

describe('Behind a trusted proxy the forwarded address is the client address', () => {
  it('uses the right-most untrusted X-Forwarded-For address for sessions and the per-IP limit', async () => {
    const t = await startNode({ 'server.trustedProxies': ['127.0.0.0/8', '10.0.0.0/8'], 'limits.maxConnectionsPerIp': 1 });
    const open = [];
    try {
      const forwarded = (xff: string) => connectWs(`${t.wsUrl}/ws?channels=p`, { headers: { 'x-forwarded-for': xff } });
      const a = await forwarded('198.51.100.1, 203.0.113.7, 10.1.2.3');
      open.push(a);
      await a.next((f) => f.type === 'welcome');
      const b = await forwarded('203.0.113.8');
      open.push(b);
      await b.next((f) => f.type === 'welcome');
      assert.deepEqual(await ipsOf(t.url), ['203.0.113.7', '203.0.113.8']);
      await assert.rejects(forwarded('203.0.113.7'), 'a second connection from the same forwarded address is refused');
    } finally {
      for (const c of open) c.close();
      await t.stop();
    }
  });

  it('ignores X-Forwarded-For from an address that is not a trusted proxy', async () => {
    const t = await startNode({ 'limits.maxConnectionsPerIp': 1 });
    const open = [];
    try {
      const a = await connectWs(`${t.wsUrl}/ws?channels=p`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
      open.push(a);
      await a.next((f) => f.type === 'welcome');
      assert.deepEqual(await ipsOf(t.url), ['127.0.0.1']);
      await assert.rejects(connectWs(`${t.wsUrl}/ws?channels=p`, { headers: { 'x-forwarded-for': '203.0.113.8' } }));
    } finally {
      for (const c of open) c.close();
      await t.stop();
    }
  });

  it('advertises a reachable address, not 0.0.0.0, when listening on every interface', async () => {
    const t = await startNode({ 'server.host': '0.0.0.0' });
    try {
      const [self] = (await get(`${t.url}/api/nodes`)).body.nodes;
      assert.doesNotMatch(self.url, /0\.0\.0\.0/);
      assert.match(self.url, new RegExp(`^http://[^/]+:${t.node.port}$`));
    } finally {
      await t.stop();
    }
  });
});
