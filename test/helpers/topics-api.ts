import assert from 'node:assert/strict';
import { bearer } from './auth.js';
import { request } from './http.js';
import { startNode, type TestNode } from './node.js';

/** The server API key of the nodes keyedTopicsNode starts. */
export const adminKey = 'server-admin-key-0123456789';

export interface KeyedTopicsNode {
  node: TestNode;
  /** The application's own key, as the topics API made it. */
  key: string;
  /** The URL of a path under /api/topics. */
  api(path: string): string;
}

/** A node whose API needs keys, with one application created through the topics API by the admin key. */
export async function keyedTopicsNode(application: Record<string, unknown>, overrides: Record<string, unknown> = {}): Promise<KeyedTopicsNode> {
  const node = await startNode({ 'api.insecure': false, 'api.keys': [adminKey], ...overrides });
  const api = (path: string) => `${node.url}/api/topics${path}`;
  try {
    const created = await request('POST', api('/applications'), { body: application, headers: bearer(adminKey) });
    assert.equal(created.status, 201, created.text);
    return { node, api, key: created.body.key as string };
  } catch (err) {
    await node.stop();
    throw err;
  }
}
