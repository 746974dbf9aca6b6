import type { FastifyPluginAsync } from 'fastify';
import type { Revocation } from '../auth/revocations.js';
import { SwitchboardError } from '../protocol/errors.js';
import type { RevocationList } from '../auth/revocations.js';
import { isMapping } from '../config/values.js';

/** Longest a revocation may be kept: a year. */
const maxRevocationSeconds = 365 * 24 * 3600;

/** What the revocation route needs: the cluster's revocation list. */
export interface RevocationDeps {
  revocations: Pick<RevocationList, 'revoke'>;
}

/** POST /api/revocations: refuse a token (jti) or a user's tokens on every node, and close matching sessions. */
export const revocationRoutes: FastifyPluginAsync<RevocationDeps> = async (api, deps) => {
  api.post('/api/revocations', async (req) => {
    const body = req.body;
    if (!isMapping(body)) throw new SwitchboardError('bad_request', 'expected {"jti"?: "...", "user"?: "...", "expiresIn": seconds}');
    const { jti, user, expiresIn } = body;
    if (jti !== undefined && (typeof jti !== 'string' || jti === '')) throw new SwitchboardError('bad_request', 'jti must be a non-empty string');
    if (user !== undefined && (typeof user !== 'string' || user === '')) throw new SwitchboardError('bad_request', 'user must be a non-empty string');
    if (jti === undefined && user === undefined) throw new SwitchboardError('bad_request', 'a revocation names a jti or a user');
    if (typeof expiresIn !== 'number' || !Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > maxRevocationSeconds) {
      throw new SwitchboardError('bad_request', `expiresIn must be an integer number of seconds from 1 to ${maxRevocationSeconds} (as long as the tokens it refuses stay valid)`);
    }
    const now = Date.now();
    const revocation: Revocation = { expiresAt: now + expiresIn * 1000 };
    if (jti !== undefined) revocation.jti = jti;
    if (user !== undefined) {
      revocation.user = user;
      revocation.issuedBefore = now;
    }
    await deps.revocations.revoke(revocation);
    return {
      revoked: { ...revocation, expiresAt: new Date(revocation.expiresAt).toISOString(), issuedBefore: revocation.issuedBefore && new Date(revocation.issuedBefore).toISOString() },
    };
  });
};
