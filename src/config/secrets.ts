import { type SchemaNode, isField } from './field.js';
import { schema } from './schema.js';
import { isMapping } from './values.js';

const masked = '********';

/** A map to look inside; a parsed RegExp (a route's regex) is a value, not a map. */
function isMap(value: unknown): value is Record<string, unknown> {
  return isMapping(value) && !(value instanceof RegExp);
}

/** Masks a secret value: a string (unless empty), or every string inside a list or map. */
function maskAll(value: unknown): unknown {
  if (typeof value === 'string') return value === '' ? value : masked;
  if (Array.isArray(value)) return value.map(maskAll);
  if (isMap(value)) return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, maskAll(child)]));
  return value;
}

/** Masks what `path` (segments; `*` is any list element or map key) points to inside value. */
function maskAt(value: unknown, path: string[]): unknown {
  if (path.length === 0) return maskAll(value);
  const [head, ...rest] = path as [string, ...string[]];
  if (Array.isArray(value)) return value.map((child, i) => (head === '*' || head === String(i) ? maskAt(child, rest) : child));
  if (isMap(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, head === '*' || head === key ? maskAt(child, rest) : child]));
  }
  return value;
}

/** Passwords inside URLs (redis://user:PASSWORD@host), in every string of the value. */
function maskUrlPasswords(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@/\s]+@/gi, `$1${masked}@`);
  if (Array.isArray(value)) return value.map(maskUrlPasswords);
  if (isMap(value)) return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, maskUrlPasswords(child)]));
  return value;
}

function mask(node: SchemaNode, value: unknown): unknown {
  if (isField(node)) {
    if (node.secret === true) return maskAll(value);
    const inside = node.secret?.reduce((v, path) => maskAt(v, path.split('.')), value) ?? value;
    return maskUrlPasswords(inside);
  }
  if (!isMap(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, key in node ? mask(node[key]!, child) : maskUrlPasswords(child)]));
}

/**
 * The configuration as `config print` shows it: the settings the schema marks secret masked, inside
 * lists and maps too, and passwords inside URLs.
 */
export function printableConfig(config: unknown): unknown {
  return mask(schema, config);
}
