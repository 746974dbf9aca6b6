import type { Logger } from 'pino';
import { ConsoleCredentials } from './admin/credentials.js';
import type { Config } from './config/schema.js';
import type { Stats } from './observability/metrics.js';
import { Authenticator } from './auth/authenticator.js';
import { DisconnectHook } from './auth/disconnect-hook.js';
import { Permissions } from './auth/permissions.js';
import type { RevocationList } from './auth/revocations.js';
import { TokenVerifier } from './auth/tokens.js';

/** The node's authentication parts, built from auth.*, with the admin console's credentials (admin.enabled). */
export interface AuthParts {
  authenticator: Authenticator;
  permissions: Permissions;
  disconnectHook: DisconnectHook;
  consoleCredentials: ConsoleCredentials | undefined;
}

export function createAuth(config: Config, revocations: RevocationList, stats: Stats, log: Logger): AuthParts {
  const verifier = new TokenVerifier(config.auth.jwt);
  const disconnectHook = new DisconnectHook(config.auth.disconnectHook, config.limits.maxJsonDepth, stats, log);
  const consoleCredentials: ConsoleCredentials | undefined = config.admin.enabled
    ? new ConsoleCredentials(config.api.keys, config.admin, verifier.enabled ? (token) => authenticator.verify(token) : undefined)
    : undefined;
  const authenticator: Authenticator = new Authenticator(config.auth, verifier, revocations, stats, log, config.limits.maxJsonDepth, consoleCredentials);
  const permissions = new Permissions(config.auth, (token) => authenticator.verify(token), stats, log, config.limits.maxJsonDepth);
  return { authenticator, permissions, disconnectHook, consoleCredentials };
}
