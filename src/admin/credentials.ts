import type { Config } from '../config/schema.js';
import { SwitchboardError } from '../protocol/errors.js';
import type { VerifiedToken } from '../auth/tokens.js';
import { KeyRing } from '../auth/api-keys.js';

export const consoleRoles = ['admin', 'read-only'] as const;
export type ConsoleRole = (typeof consoleRoles)[number];

/** Who signed in to the console, and with what. */
export interface ConsolePrincipal {
  role: ConsoleRole;
  via: 'key' | 'jwt' | 'insecure';
  /** The JWT's user. */
  subject?: string;
}

/** A compact JWS: three base64url parts. */
const jwtShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Recognises console credentials: an admin key (api.keys), a read-only key (admin.readOnlyKeys),
 * or, when client tokens are configured, a JWT whose admin.roleClaim names a console role.
 */
export class ConsoleCredentials {
  private readonly keys: KeyRing<ConsoleRole>;

  constructor(
    apiKeys: string[],
    private readonly admin: Config['admin'],
    /** Verifies a client token and checks it is not revoked; undefined when no token keys are configured. */
    private readonly verify: ((token: string) => Promise<VerifiedToken>) | undefined,
  ) {
    this.keys = new KeyRing<ConsoleRole>(
      [...apiKeys.map((k): [string, ConsoleRole] => [k, 'admin']), ...admin.readOnlyKeys.map((k): [string, ConsoleRole] => [k, 'read-only'])],
      'admin',
    );
  }

  /**
   * The principal a credential signs in; undefined when it is neither a console key nor a JWT.
   * A JWT that fails verification throws its own error (401, e.g. expired); a valid JWT without
   * a console role throws forbidden.
   */
  async identify(credential: string): Promise<ConsolePrincipal | undefined> {
    const role = this.keys.find(credential);
    if (role) return { role, via: 'key' };
    if (!this.verify || !jwtShape.test(credential)) return undefined;
    const token = await this.verify(credential);
    const claimed = (token.claims as Record<string, unknown>)[this.admin.roleClaim];
    if (!consoleRoles.includes(claimed as ConsoleRole)) {
      throw new SwitchboardError('forbidden', `this token carries no console role: its ${this.admin.roleClaim} claim must be admin or read-only`);
    }
    return { role: claimed as ConsoleRole, via: 'jwt', subject: token.user };
  }

  get roleClaim(): string {
    return this.admin.roleClaim;
  }

  /** The role of a console key; undefined for anything else (JWTs included). */
  roleOfKey(credential: string): ConsoleRole | undefined {
    return this.keys.find(credential);
  }
}
