import { SwitchboardError } from '../protocol/errors.js';
import { resourceNamePattern } from '../config/topics.js';

/** `<application>-<name>`: the store's name for a topic or subscription (application ids have no `-`). */
export function storeName(application: string, name: string): string {
  return `${application}-${name}`;
}

/** `<application>/<name>` of a store name `<application>-<name>`, as metrics, logs and the API show it. */
export function storeNameLabel(name: string): string {
  return name.replace('-', '/');
}

/** A topic or subscription name, checked against the pattern every store can hold. */
export function checkName(kind: 'topic' | 'subscription', name: unknown): string {
  if (typeof name !== 'string' || !resourceNamePattern.test(name)) throw new SwitchboardError('bad_request', `a ${kind} name matches ${resourceNamePattern.source}`);
  return name;
}
