import { readFileSync } from 'node:fs';

/** The repository root: helpers run from dist/test/helpers/. */
const root = new URL('../../../', import.meta.url);

/** The fenced code blocks of one `## heading` section of a document, in order, with their language. */
export function codeBlocks(doc: string, heading: string): { lang: string; code: string }[] {
  const text = readFileSync(new URL(doc, root), 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`${doc} has no section "## ${heading}"`);
  const next = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, next === -1 ? undefined : next);
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, code: m[2]! }));
}

/** The one block of a language in a section; throws when there is none or more than one. */
export function onlyBlock(doc: string, heading: string, lang: string): string {
  const found = codeBlocks(doc, heading).filter((b) => b.lang === lang);
  if (found.length !== 1) throw new Error(`${doc} section "${heading}" has ${found.length} ${lang} blocks, expected one`);
  return found[0]!.code;
}
