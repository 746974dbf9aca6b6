import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { npm, repoRoot, run } from '../../helpers/npm.js';

describe('the switchboard package tarball', () => {
  it('holds the compiled node, the SDK and API client with their types, the admin console, the proto files and docs, and no tests, bench or fixtures', async () => {
    const packed = await run(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], repoRoot);
    assert.equal(packed.code, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { files: { path: string }[] }[];
    const files = info!.files.map((f) => f.path);
    assert.ok(files.includes('dist/src/cli.js'), 'the CLI is missing');
    assert.ok(files.includes('dist/src/client/index.js'), 'the SDK the node serves is missing');
    assert.ok(files.includes('proto/forwarding.proto'), 'the gateway proto is missing');
    for (const console of ['src/admin/static/index.html', 'src/admin/static/console.css', 'dist/src/admin/console/app.js'])
      assert.ok(files.includes(console), `the admin console's ${console} is missing`);
    for (const types of ['dist/src/client/index.d.ts', 'dist/src/api-client/index.d.ts']) assert.ok(files.includes(types), `${types} is missing`);
    const unwanted = files.filter((f) => /(^|\/)(test|bench|fixtures|packages|deploy)\//.test(f) || /\.test\.js$/.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')));
    assert.deepEqual(unwanted, []);
  });
});
