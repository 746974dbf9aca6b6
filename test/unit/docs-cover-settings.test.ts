import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { describeSettings } from '../../src/config/load.js';
import { errorCodes } from '../../src/protocol/errors.js';

/** The repository root: this test runs from dist/test/unit/. */
const root = new URL('../../../', import.meta.url);

function doc(path: string): string {
  return readFileSync(new URL(path, root), 'utf8');
}

describe('docs cover the code', () => {
  it('docs/configuration.md lists every setting with its environment variable', () => {
    const text = doc('docs/configuration.md');
    const missing = describeSettings().filter((s) => !text.includes(`\`${s.path}\``) || !text.includes(`\`${s.env}\``));
    // The failure message carries ready-made table rows for the missing settings.
    const rows = missing.map(
      (s) => `| \`${s.path}\` | \`${s.env}\` | \`${typeof s.default === 'string' && s.default !== '' ? s.default : JSON.stringify(s.default)}\` | ${s.doc} |`,
    );
    assert.deepEqual(
      missing.map((s) => s.path),
      [],
      `docs/configuration.md does not describe these settings; add them to its table:\n${rows.join('\n')}`,
    );
  });

  it('docs/protocol.md explains every error code with its HTTP status and close code', () => {
    const text = doc('docs/protocol.md');
    const missing = errorCodes.filter((code) => !new RegExp(`^\\| \`${code}\` \\|`, 'm').test(text));
    assert.deepEqual(missing, [], `docs/protocol.md has no row in its error code table for: ${missing.join(', ')}`);
  });
});
