import { parseStringList } from './values.js';

/** An allowed origin: exact, or every subdomain of a domain. */
export interface OriginPattern {
  scheme: string;
  /** Exact host, or the suffix after `*` (".example.com") when `wildcard`. */
  host: string;
  wildcard: boolean;
  port: string;
}

export const defaultPorts: Record<string, string> = { 'http:': '80', 'https:': '443' };
const patternSyntax = /^(https?):\/\/(\*\.)?([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/i;

export function parsePattern(text: string): OriginPattern {
  const m = patternSyntax.exec(text);
  if (!m || m[3]!.startsWith('.') || m[3]!.endsWith('.')) {
    throw new Error(`${JSON.stringify(text)} is not an origin: write scheme://host[:port] (https://app.example.com), https://*.example.com, or *`);
  }
  const scheme = `${m[1]!.toLowerCase()}:`;
  return { scheme, host: `${m[2] ? '.' : ''}${m[3]!.toLowerCase()}`, wildcard: m[2] !== undefined, port: m[4] ?? defaultPorts[scheme]! };
}

/** The allowed-origins setting: exact origins, `scheme://*.domain` patterns, or `*`. */
export function parseOrigins(value: unknown): string[] {
  const list = parseStringList(value);
  for (const entry of list) if (entry !== '*') parsePattern(entry);
  return list;
}
