import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import { npm, repoRoot, run } from '../../helpers/npm.js';

/** The most the SDK may weigh, minified and gzipped, bundled from its entry point. */
const sizeBudgetBytes = 12 * 1024;

/** The entry point and its types, as the package's exports name them. */
const entry = 'dist/client/index.js';
const entryTypes = 'dist/client/index.d.ts';

const consumer = `import { SwitchboardClient, SwitchboardClientError, type ChannelMessage, type PublishResult } from '@switchboard/client';

const client = new SwitchboardClient('https://rt.example.com', { transports: ['websocket', 'sse'], getToken: async () => 'jwt' });
client.on('connected', (session) => console.log(session.session, session.transport));
const sub = client.subscribe<{ text: string }>('chat:lobby', (data, message: ChannelMessage<{ text: string }>) => console.log(data.text, message.channel));
const published: Promise<PublishResult> = client.publish('chat:lobby', { text: 'hi' });
published.catch((err: unknown) => err instanceof SwitchboardClientError && console.log(err.code));
sub.unsubscribe();
client.close();
`;

describe('the @switchboard/client package', () => {
  let work: string;
  let tarball: string;
  let files: string[];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'switchboard-client-pack-'));
    const packed = await run(npm, ['pack', '--workspace', 'packages/client', '--pack-destination', work, '--json'], repoRoot);
    assert.equal(packed.code, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, info!.filename);
    files = info!.files.map((f) => f.path);
  });
  after(() => rm(work, { recursive: true, force: true }));

  it('holds the ES modules and their .d.ts types, and no TypeScript sources', async () => {
    const manifest = JSON.parse(await readFile(join(repoRoot, 'packages', 'client', 'package.json'), 'utf8')) as { exports: { '.': { default: string; types: string } } };
    assert.deepEqual(manifest.exports['.'], { types: `./${entryTypes}`, default: `./${entry}` });
    assert.ok(files.includes(entry), files.join(' '));
    assert.ok(files.includes(entryTypes), files.join(' '));
    assert.deepEqual(
      files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
      [],
    );
    assert.deepEqual(
      files.filter((f) => !f.startsWith('dist/') && f !== 'package.json' && f !== 'README.md'),
      [],
    );
  });

  it('installs offline into a fresh folder, and a consumer type-checks against it', async () => {
    const app = join(work, 'app');
    await run('mkdir', ['-p', app], work);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const installed = await run(npm, ['install', '--offline', '--no-package-lock', tarball], app);
    assert.equal(installed.code, 0, installed.stderr);
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, lib: ['ES2022', 'DOM'], types: [] } }),
    );
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    await writeFile(join(app, 'consumer.ts'), consumer);
    const good = await run(process.execPath, [tsc, '--noEmit', '-p', '.'], app);
    assert.equal(good.code, 0, good.stdout);

    // The types are real: a wrong option is a compile error, not an any.
    await writeFile(join(app, 'consumer.ts'), `${consumer}new SwitchboardClient('https://rt.example.com', { transports: ['carrier-pigeon'] });\n`);
    const bad = await run(process.execPath, [tsc, '--noEmit', '-p', '.'], app);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stdout, /carrier-pigeon/);
  });

  it('has no Node-only import anywhere in its modules', async () => {
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      const text = await readFile(join(repoRoot, 'packages', 'client', file), 'utf8');
      assert.doesNotMatch(text, /from\s+['"](node:|fs|path|os|crypto|net|http|https|stream|ws)['"]|require\(|import\(['"]node:/, file);
    }
  });

  it(`weighs less than ${sizeBudgetBytes} bytes minified and gzipped`, async () => {
    const bundled = await build({ entryPoints: [join(repoRoot, 'packages', 'client', entry)], bundle: true, minify: true, format: 'esm', platform: 'browser', write: false });
    const bytes = gzipSync(bundled.outputFiles[0]!.contents, { level: 9 }).length;
    console.log(`# @switchboard/client: ${bundled.outputFiles[0]!.contents.length} bytes minified, ${bytes} bytes minified and gzipped`);
    assert.ok(bytes < sizeBudgetBytes, `${bytes} bytes`);
  });
});
