import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';

/** The paths the page names: its import map's modules, its stylesheets and its entry module. */
function referencedPaths(page: string): { importMap: string; paths: string[] } {
  const importMap = /<script type="importmap">(.*?)<\/script>/s.exec(page)![1]!;
  const imports = Object.values((JSON.parse(importMap) as { imports: Record<string, string> }).imports);
  const others = [...page.matchAll(/(?:href|src)="(\.\/[^"]+)"/g)].map((m) => m[1]!);
  return { importMap, paths: [...imports, ...others].map((p) => p.replace(/^\.\//, '/admin/')) };
}

describe('the admin console with admin.enabled', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'admin.enabled': true });
  });
  after(() => t?.stop());

  it('serves its page with a Content-Security-Policy that allows only its own files and its import map', async () => {
    const res = await request('GET', `${t.url}/admin/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const { importMap } = referencedPaths(res.text);
    const csp = res.headers.get('content-security-policy') ?? '';
    const hash = createHash('sha256').update(importMap).digest('base64');
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(csp.includes(`script-src 'self' 'sha256-${hash}'`), csp);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
  });

  it('serves Preact, htm, uPlot and its own modules from the node, by content-hashed paths cached for good', async () => {
    const page = (await request('GET', `${t.url}/admin/`)).text;
    const { importMap, paths } = referencedPaths(page);
    assert.deepEqual(Object.keys(JSON.parse(importMap).imports).sort(), ['htm', 'htm/preact', 'preact', 'preact/hooks', 'uplot']);
    assert.ok(
      paths.some((p) => /\/app\/[0-9a-f]{12}\/app\.js$/.test(p)),
      paths.join(' '),
    );
    for (const path of paths) {
      const res = await request('GET', `${t.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), path.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8', path);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable', path);
      const again = await request('GET', `${t.url}${path}`, { headers: { 'if-none-match': res.headers.get('etag')! } });
      assert.equal(again.status, 304, path);
    }
  });

  it('redirects /admin to /admin/ and answers 404 for files it does not have, including source maps', async () => {
    const redirect = await fetch(`${t.url}/admin`, { redirect: 'manual' });
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.get('location'), '/admin/');
    const page = (await request('GET', `${t.url}/admin/`)).text;
    const entry = referencedPaths(page).paths.find((p) => p.endsWith('/app.js'))!;
    for (const path of [`${entry}.map`, '/admin/index.html', '/admin/../package.json', '/admin/vendor/preact.mjs']) {
      const res = await request('GET', `${t.url}${path}`);
      assert.equal(res.status, 404, path);
      assertErrorBody(res.body, 'not_found');
    }
  });
});

describe('the admin console without admin.enabled', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode();
  });
  after(() => t?.stop());

  it('does not exist: everything under /admin answers 404', async () => {
    for (const path of ['/admin', '/admin/', '/admin/app/000000000000/app.js', '/admin/vendor/000000000000/preact.mjs']) {
      const res = await request('GET', `${t.url}${path}`);
      assert.equal(res.status, 404, path);
      assertErrorBody(res.body, 'not_found');
    }
  });
});
