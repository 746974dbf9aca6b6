import { SwitchboardError } from './errors.js';

const quote = 0x22;
const backslash = 0x5c;
const openBracket = 0x5b;
const openBrace = 0x7b;
const closeBracket = 0x5d;
const closeBrace = 0x7d;

/**
 * Whether JSON text nests arrays and objects deeper than `max`, read from the text itself in one
 * pass (strings skipped), so a too-deep input is refused before it is parsed. Deep values would
 * otherwise be accepted by JSON.parse and make every later JSON.stringify of them throw.
 */
export function jsonNestedDeeperThan(text: string, max: number): boolean {
  // Each level takes at least one character.
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === backslash) i++;
      else if (c === quote) inString = false;
    } else if (c === quote) {
      inString = true;
    } else if (c === openBracket || c === openBrace) {
      if (++depth > max) return true;
    } else if (c === closeBracket || c === closeBrace) {
      depth--;
    }
  }
  return false;
}

/** The one refusal of too-deep JSON, wherever it arrives. */
export function jsonTooDeep(max: number): SwitchboardError {
  return new SwitchboardError('bad_request', `JSON nested deeper than ${max} levels is refused (limits.maxJsonDepth)`);
}
