import type { Config, NamespaceOptions } from '../config/schema.js';
import { SwitchboardError } from '../protocol/errors.js';

/** Characters a channel name may contain; `:` separates the namespace from the rest. */
export const channelNamePattern = /^[A-Za-z0-9_\-.:@=/+]+$/;

export interface ResolvedChannel {
  name: string;
  /** Namespace name, or '' for channels without one. */
  namespace: string;
  options: NamespaceOptions;
}

/** Validates channel names and answers which namespace options apply to a channel. */
export class ChannelRules {
  private readonly maxNameLength: number;
  private readonly defaults: NamespaceOptions;
  /** A Map, not an object: a namespace named after an Object.prototype member must be unknown, not inherited. */
  private readonly namespaces: Map<string, NamespaceOptions>;

  /** `personalNamespace` is known even when not configured: its channels take the default options. */
  constructor(config: Config['channels'], personalNamespace = '') {
    this.maxNameLength = config.maxNameLength;
    this.defaults = config.default;
    this.namespaces = new Map(Object.entries(config.namespaces).map(([name, options]) => [name, { ...config.default, ...options }]));
    if (personalNamespace && !this.namespaces.has(personalNamespace)) this.namespaces.set(personalNamespace, config.default);
  }

  /** Throws bad_request for an invalid name and not_found for an unknown namespace. */
  resolve(name: unknown): ResolvedChannel {
    if (typeof name !== 'string' || name.length === 0) {
      throw new SwitchboardError('bad_request', 'channel must be a non-empty string');
    }
    if (name.length > this.maxNameLength) {
      throw new SwitchboardError('bad_request', `channel name longer than ${this.maxNameLength} characters`);
    }
    if (!channelNamePattern.test(name)) {
      throw new SwitchboardError('bad_request', 'channel name may contain only A-Z a-z 0-9 and _ - . : @ = / +');
    }
    const colon = name.indexOf(':');
    if (colon === -1) return { name, namespace: '', options: this.defaults };
    const namespace = name.slice(0, colon);
    const options = this.namespaces.get(namespace);
    if (!options) throw new SwitchboardError('not_found', `unknown namespace ${JSON.stringify(namespace)}`);
    return { name, namespace, options };
  }
}
