import type { ResolvedChannel } from '../channels/channels.js';
import type { NamespaceOptions } from '../config/schema.js';
import { SwitchboardError } from '../protocol/errors.js';
import type { ReservedChannels } from '../sessions/client-commands.js';
import type { Session } from '../sessions/session.js';

export const consoleNamespace = '$admin';
/** Every node's latest sample, every admin.sampleInterval. */
export const statsChannel = `${consoleNamespace}:stats`;
/** Sessions opened and closed, batched at most once per second per node. */
export const sessionsChannel = `${consoleNamespace}:sessions`;

/** The `$admin:` channels: console sessions may subscribe; nobody publishes but the nodes. */
export class ConsoleChannels implements ReservedChannels {
  private readonly channels: Map<string, ResolvedChannel>;

  constructor(defaults: NamespaceOptions) {
    // No history, no presence: a feed of the moment, carried between nodes like any channel.
    const options: NamespaceOptions = { ...defaults, subscribe: 'server', publish: 'server', presence: false, historySize: 0, historyTtl: 0 };
    this.channels = new Map([statsChannel, sessionsChannel].map((name) => [name, { name, namespace: consoleNamespace, options }]));
  }

  resolve(session: Session, name: string): ResolvedChannel | undefined {
    if (!name.startsWith(`${consoleNamespace}:`)) return undefined;
    if (session.consoleRole === undefined) throw new SwitchboardError('forbidden', `${name} is a channel of the admin console: sign in with a console key or an admin JWT`);
    const channel = this.channels.get(name);
    if (!channel) throw new SwitchboardError('not_found', `no console channel ${name}; there are ${[...this.channels.keys()].join(' and ')}`);
    return channel;
  }
}
