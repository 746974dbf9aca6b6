import { SwitchboardError } from '../protocol/errors.js';

/** RFC 3986 unreserved characters: the only ones whose percent-encoding means the same as the character. */
const unreserved = /^[A-Za-z0-9._~-]$/;

function refuse(path: string, why: string): SwitchboardError {
  return new SwitchboardError('bad_path', `the path ${JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}...` : path)} is ambiguous: ${why}`);
}

/**
 * The path routes match and services get, so that a route's authentication covers every spelling
 * of its paths: percent-encoded unreserved characters decoded (`%2e` is `.`, `%7E` is `~`), other
 * escapes kept with upper-case hex, empty segments merged (`//a` is `/a`) and dot-segments removed
 * (RFC 3986 section 5.2.4: `/public/../admin` is `/admin`). Paths that servers read in different
 * ways are refused with `bad_path`: an encoded `/` or `\` in a segment (`%2f`, `%5c`), a raw `\`,
 * NUL (`%00`), a malformed escape, and dot-segments with parameters (`..;`).
 */
export function normalizePath(path: string): string {
  if (path.includes('\\')) throw refuse(path, 'it has a backslash');
  let decoded = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c !== '%') {
      decoded += c;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw refuse(path, 'it has a malformed percent-encoding');
    const code = parseInt(hex, 16);
    if (code === 0x2f || code === 0x5c) throw refuse(path, 'it has an encoded slash or backslash (%2F, %5C)');
    if (code === 0) throw refuse(path, 'it has an encoded NUL (%00)');
    const char = String.fromCharCode(code);
    decoded += unreserved.test(char) ? char : `%${hex.toUpperCase()}`;
    i += 2;
  }
  const out: string[] = [];
  const segments = decoded.split('/').slice(1);
  for (const segment of segments) {
    const bare = segment.split(';', 1)[0]!;
    if (bare !== segment && (bare === '.' || bare === '..')) throw refuse(path, 'it has a dot-segment with parameters (..;)');
    if (segment === '..') out.pop();
    else if (segment !== '.' && segment !== '') out.push(segment);
  }
  // `/a/`, `/a/.` and `/a/b/..` name the directory `/a/`.
  const last = segments[segments.length - 1];
  const directory = out.length > 0 && (last === '' || last === '.' || last === '..');
  return `/${out.join('/')}${directory ? '/' : ''}`;
}
