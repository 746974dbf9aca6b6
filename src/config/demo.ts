import type { Config, NamespaceOptions } from './schema.js';

/**
 * The namespace the demo page's chat room uses: clients publish, members are tracked, and the
 * last 100 messages are kept so a page that reconnects gets what it missed.
 */
export const demoNamespaces: Record<string, Partial<NamespaceOptions>> = {
  chat: { publish: 'public', presence: true, historySize: 100 },
};

/** With demo.enabled, adds the demo's namespaces that the configuration does not define itself. */
export function addDemoNamespaces(config: Config): void {
  if (!config.demo.enabled) return;
  for (const [name, options] of Object.entries(demoNamespaces)) config.channels.namespaces[name] ??= { ...options };
}
