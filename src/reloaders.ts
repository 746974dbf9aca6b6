import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import type { CertificateReloader } from './transports/tls.js';

/** A part of the node that re-applies its settings from a freshly read configuration. */
export type Reloader = (config: Config) => void | Promise<void>;

/** The parts that can take a freshly read configuration without a restart (on SIGHUP). */
export class Reloaders {
  /** What `reload` re-applies, by the name of the setting or part it reloads. */
  private readonly reloaders = new Map<string, Reloader>();

  constructor(private readonly log: Logger) {}

  add(name: string, reload: Reloader): void {
    this.reloaders.set(name, reload);
  }

  /**
   * Hands a freshly read configuration to every registered part; the rest of the configuration
   * takes effect at the next start. Sessions stay open. Answers the names of the parts reloaded.
   */
  async reload(fresh: Config): Promise<string[]> {
    const reloaded: string[] = [];
    for (const [name, reload] of this.reloaders) {
      try {
        await reload(fresh);
        reloaded.push(name);
      } catch (err) {
        this.log.error({ event: 'node.reload_failed', part: name, err }, `could not reload ${name}`);
      }
    }
    this.log.info({ event: 'node.reloaded', parts: reloaded }, reloaded.length > 0 ? `reloaded ${reloaded.join(', ')}` : 'nothing was reloaded');
    return reloaded;
  }
}

/** The reloaders every node has: log.level, and server.tls when it serves TLS. */
export function nodeReloaders(log: Logger, certificates: CertificateReloader | undefined): Reloaders {
  const reloaders = new Reloaders(log);
  reloaders.add('log.level', (fresh) => {
    log.level = fresh.log.level;
  });
  if (certificates) reloaders.add('server.tls', () => void certificates.reload());
  return reloaders;
}
