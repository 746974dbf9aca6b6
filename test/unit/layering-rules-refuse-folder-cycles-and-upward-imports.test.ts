import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cruise, type IConfiguration, type ICruiseResult } from 'dependency-cruiser';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const rules = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as IConfiguration;

/** Runs the project's layering rules over a made-up src/ tree: file name -> its imports. */
async function violations(files: Record<string, string[]>): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'layering-'));
  try {
    for (const [file, imports] of Object.entries(files)) {
      const path = join(dir, file);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `${imports.map((spec, i) => `import * as m${i} from '${spec}';`).join('\n')}\nexport const here = ${JSON.stringify(file)};\n`);
    }
    const { output } = await cruise(['src'], { baseDir: dir, ruleSet: { forbidden: rules.forbidden }, tsPreCompilationDeps: true, validate: true });
    return (output as ICruiseResult).summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the layering rules of npm run lint', () => {
  it('pass a tree whose folders depend on each other in one direction', async () => {
    assert.deepEqual(await violations({ 'src/node.ts': ['./hub/hub.js'], 'src/hub/hub.ts': ['../brokers/broker.js'], 'src/brokers/broker.ts': [] }), []);
  });

  it('fail on a cycle between two folders, however far apart the modules', async () => {
    const found = await violations({ 'src/topics/a.ts': ['../routing/b.js'], 'src/routing/b.ts': ['./c.js'], 'src/routing/c.ts': ['../topics/d.js'], 'src/topics/d.ts': [] });
    assert.ok(
      found.some((v) => v.startsWith('no-folder-cycles')),
      found.join('\n'),
    );
  });

  it('fail when a lower layer imports a higher one, or a folder imports node.ts', async () => {
    const found = await violations({ 'src/hub/hub.ts': ['../sessions/session.js'], 'src/sessions/session.ts': [], 'src/api/routes.ts': ['../node.js'], 'src/node.ts': [] });
    assert.ok(found.includes('hub-knows-no-upper-layer: src/hub/hub.ts -> src/sessions/session.ts'), found.join('\n'));
    assert.ok(
      found.some((v) => v.startsWith('node-is-composition-only: src/api/routes.ts')),
      found.join('\n'),
    );
  });
});
