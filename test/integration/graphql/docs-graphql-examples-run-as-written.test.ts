import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { loadConfig } from '../../../src/config/load.js';
import { SwitchboardNode } from '../../../src/node.js';
import { hmacToken } from '../../helpers/auth.js';
import { tempYaml } from '../../helpers/config.js';
import { graphqlWsClient, once, run } from '../../helpers/graphql.js';
import { get, post } from '../../helpers/node.js';
import { ownedTempDir, spawnOwned } from '../../helpers/processes.js';
import { parseExposition } from '../../helpers/prometheus.js';
import { requireTool, tool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const text = readFileSync(join(root, 'docs/graphql.md'), 'utf8');
const blocks = (lang: string) => [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
/** The examples are written for localhost:8080; the test's node listens elsewhere. */
const here = (example: string, port: number) => example.replaceAll('localhost:8080', `127.0.0.1:${port}`);

/** Lines a child process writes, and a wait for one that matches. */
function lines(child: ChildProcess): (match: RegExp) => Promise<string> {
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  return async (match) => {
    await waitUntil(() => match.test(output), 10_000, `output matching ${match} (so far: ${output})`);
    return output;
  };
}

describe('the examples of docs/graphql.md', () => {
  const user = 'docs-reader';
  let node: SwitchboardNode;
  let url: string;
  let token: string;
  before(async () => {
    const file = tempYaml(blocks('yaml')[0]!);
    try {
      node = await SwitchboardNode.create(
        loadConfig({ file: file.path, overrides: { 'server.host': '127.0.0.1', 'server.port': 0, 'api.insecure': true, 'log.level': 'silent' } }),
      );
    } finally {
      file.remove();
    }
    await node.start();
    url = `http://127.0.0.1:${node.port}`;
    const secret = node.config.auth.jwt.secrets[0]!;
    token = await hmacToken(secret, { sub: user });
  });
  after(() => node?.stop());

  const operations = async () => parseExposition((await get(`${url}/metrics`)).text).value('switchboard_graphql_operations');
  const subscribers = async (channel: string) => (await get(`${url}/api/channels`)).body.channels?.find((c: any) => c.channel === channel)?.subscribers ?? 0;

  it('every GraphQL document runs without errors: subscriptions get a publication, queries and mutations answer', async () => {
    const documents = blocks('graphql').filter((d) => !d.includes('scalar JSON'));
    assert.ok(documents.length >= 5, 'the page shows its documents');
    const client = graphqlWsClient(url.replace('http', 'ws'), { connectionParams: { token } });
    try {
      for (const document of documents) {
        if (!document.trimStart().startsWith('subscription')) {
          const result = await once(client, document);
          assert.equal(result.errors, undefined, `${document}: ${JSON.stringify(result.errors)}`);
          continue;
        }
        const channel = /name: "([^"]+)"/.exec(document)?.[1] ?? `user:${user}`;
        const data = channel.startsWith('quotes:') ? { symbol: 'ACME', price: 12.5, venue: 'NYSE' } : { title: 'hello' };
        const history = channel.startsWith('news:') ? (await get(`${url}/api/channels/${channel}/history?limit=1`)).body : undefined;
        const variables = document.includes('$since') ? { since: { offset: history.offset, epoch: history.epoch } } : undefined;
        const op = run(client, document, variables);
        await waitUntil(async () => (await operations()) === 1, 5000, `the subscription to ${channel}`);
        assert.equal((await post(`${url}/api/publish`, { channel, data })).status, 200);
        const result = await op.next();
        assert.equal(result.errors, undefined, `${document}: ${JSON.stringify(result.errors)}`);
        assert.match(JSON.stringify(result.data), channel.startsWith('quotes:') ? /"symbol":"ACME"/ : /"title":"hello"/);
        op.stop();
        await waitUntil(async () => (await operations()) === 0, 5000, 'the subscription to end');
      }
    } finally {
      await client.dispose();
    }
  });

  it('the graphql-ws client snippet prints the results of its subscription', async () => {
    const dir = ownedTempDir('graphql-docs-');
    // Inside the repository, so that the snippet's imports resolve to the project's dependencies.
    const script = join(root, 'dist', `graphql-docs-snippet-${process.pid}.mjs`);
    writeFileSync(script, here(blocks('js')[0]!, node.port));
    const child = spawnOwned(process.execPath, [script], { cwd: dir, env: { ...process.env, SWITCHBOARD_TOKEN: token }, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const output = lines(child);
      await waitUntil(async () => (await subscribers('news:world')) > 0, 10_000, 'the snippet to subscribe');
      await post(`${url}/api/publish`, { channel: 'news:world', data: { title: 'from the docs' } });
      assert.match(await output(/from the docs/), /\{"data":\{"channel":\{"offset":\d+,"data":\{"title":"from the docs"\}\}\}\}/);
    } finally {
      child.kill('SIGKILL');
      rmSync(script, { force: true });
    }
  });

  it('the curl command streams graphql-sse events', { skip: requireTool('curl') }, async () => {
    const command = here(blocks('sh')[0]!, node.port).replace(/^curl /, `${tool('curl')} `);
    const child = spawnOwned('sh', ['-c', command], { env: { ...process.env, SWITCHBOARD_TOKEN: token }, stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const output = lines(child);
      await waitUntil(async () => (await get(`${url}/api/sessions?user=${user}`)).body.sessions?.some((s: any) => s.transport === 'graphql-sse'), 10_000, 'the curl session');
      await post(`${url}/api/publish`, { channel: 'news:world', data: { title: 'over sse' } });
      assert.match(await output(/over sse/), /event: next\ndata: \{"data":\{"channel":\{"offset":\d+,"data":\{"title":"over sse"\}\}\}\}\n\n/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
