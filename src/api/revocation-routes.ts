import type { FastifyPluginAsync } from 'fastify';
import type { Revocation } from '../auth/revocations.js';
import type { RevocationList } from '../auth/revocations.js';
import { describedBody } from './body-schema.js';

interface RevocationRequest {
  jti?: string;
  user?: string;
  expiresIn: number;
}

/** A jti or a user, and for how long (1 s to a year), checked before the handler runs. */
const revocationBody = describedBody(
  'POST',
  '/api/revocations',
  'a revocation is {"jti"?: "...", "user"?: "...", "expiresIn": seconds}: a non-empty jti or user, or both, and an integer number of seconds from 1 to 31536000 (as long as the tokens it refuses stay valid)',
);

/** What the revocation route needs: the cluster's revocation list. */
export interface RevocationDeps {
  revocations: Pick<RevocationList, 'revoke'>;
}

/** POST /api/revocations: refuse a token (jti) or a user's tokens on every node, and close matching sessions. */
export const revocationRoutes: FastifyPluginAsync<RevocationDeps> = async (api, deps) => {
  api.post<{ Body: RevocationRequest }>('/api/revocations', revocationBody, async (req) => {
    const { jti, user, expiresIn } = req.body;
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
