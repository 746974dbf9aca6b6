import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ControlTarget } from '../brokers/broker.js';
import { CloseCodes, SwitchboardError, errorCodes, type ErrorCode } from '../protocol/errors.js';
import type { ChannelRules } from '../channels/channels.js';
import type { ClusterActions, ClusterCommand } from '../cluster/actions.js';
import type { Cluster } from '../cluster/cluster.js';
import type { SessionListing } from '../sessions/listing.js';
import type { FrameId } from '../protocol/frames.js';
import { isMapping } from '../config/values.js';
import { describedBody } from './body-schema.js';
import { pageRequestOf } from '../sessions/listing.js';
import { wireFormatNames } from '../protocol/wire.js';

/** Longest reason accepted; the WebSocket transport cuts it to the 123 bytes a close frame holds. */
const maxReasonLength = 120;

function reasonOf(req: FastifyRequest): string {
  const body = isMapping(req.body) ? req.body : {};
  const { reason: queryReason } = req.query as { reason?: string };
  const reason = typeof body.reason === 'string' ? body.reason : (queryReason ?? 'disconnected by the server');
  if (reason.length > maxReasonLength) throw new SwitchboardError('bad_request', `reason is longer than ${maxReasonLength} characters`);
  return reason;
}

/** The close code an operator asked for: 4000-4499 tell the client to reconnect, 4500-4999 not to (protocol.md#close-codes). */
function requestedCloseCode(req: FastifyRequest): number {
  const body = isMapping(req.body) ? req.body : {};
  const { code: queryCode } = req.query as { code?: string };
  const code = body.code ?? (queryCode === undefined ? undefined : Number(queryCode));
  if (code === undefined) return CloseCodes.reconnect;
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 4000 || code > 4999) {
    throw new SwitchboardError('bad_request', 'code must be a close code from 4000 to 4999 (4000-4499: the client reconnects, 4500-4999: it does not)');
  }
  return code;
}

/** A backend's late answer, as its schema admits it; the error message is cut to 200 characters. */
type Reply = { id: FrameId } & ({ data: unknown } | { error: { code: ErrorCode; message: string } });

function replyOf(body: Reply): Reply {
  return 'error' in body ? { id: body.id, error: { code: body.error.code, message: body.error.message.slice(0, 200) } } : { id: body.id, data: body.data };
}

/** What the session routes need: the rules, cluster commands and the cluster's session listings. */
export interface SessionRouteDeps {
  rules: ChannelRules;
  cluster: Pick<Cluster, 'command'>;
  clusterActions: Pick<ClusterActions, 'clusterSessions' | 'clusterSessionPage'>;
}

/** Sessions and users on every node: list, look up, disconnect, send, subscribe server-side. */
export const sessionRoutes: FastifyPluginAsync<SessionRouteDeps> = async (api, deps) => {
  const sessionId = (req: FastifyRequest) => (req.params as { id: string }).id;
  const userId = (req: FastifyRequest) => (req.params as { id: string }).id;

  const findSession = async (id: string): Promise<SessionListing> => {
    const [found] = await deps.clusterActions.clusterSessions({ session: id });
    if (!found) throw new SwitchboardError('not_found', 'no such session on any node');
    return found;
  };

  /**
   * Sends a command to the sessions of a user on every node and answers how many sessions the
   * cluster view listed. The command goes out even when none were listed: a node that has not
   * reported yet still carries it out for its sessions.
   */
  const command = async (target: ControlTarget, sessions: SessionListing[], build: (target: ControlTarget) => ClusterCommand) => {
    await deps.cluster.command(build(target));
    return sessions.length;
  };

  api.get('/api/sessions', async (req) => {
    const query = req.query as { user?: string; channel?: string; node?: string; transport?: string; limit?: string; after?: string };
    const { user, channel, node: nodeId, transport } = query;
    if (transport !== undefined && !(wireFormatNames as readonly string[]).includes(transport)) {
      throw new SwitchboardError('bad_request', `transport must be one of ${wireFormatNames.join(', ')}`);
    }
    const filter = { user, channel, node: nodeId, transport };
    const page = pageRequestOf(query);
    if (page) return deps.clusterActions.clusterSessionPage(filter, page);
    return { sessions: await deps.clusterActions.clusterSessions(filter) };
  });

  api.get('/api/sessions/:id', async (req) => findSession(sessionId(req)));

  const disconnectSession = async (req: FastifyRequest) => {
    const id = sessionId(req);
    const reason = reasonOf(req);
    const code = requestedCloseCode(req);
    await findSession(id);
    await deps.cluster.command({ kind: 'disconnect', target: { session: id }, code, reason });
    return { disconnected: id, reason, ...(code !== CloseCodes.reconnect && { code }) };
  };
  api.delete('/api/sessions/:id', disconnectSession);
  api.post('/api/sessions/:id/disconnect', disconnectSession);

  api.post<{ Body: { data: unknown } }>('/api/sessions/:id/messages', describedBody('POST', '/api/sessions/:id/messages', 'expected {"data": ...}'), async (req) => {
    const id = sessionId(req);
    const { data } = req.body;
    await findSession(id);
    await deps.cluster.command({ kind: 'send', target: { session: id }, data });
    return { sessions: 1 };
  });

  const replyMessage = `expected {"id": frame id, "data": ...} or {"id": frame id, "error": {"code": one of ${errorCodes.join(', ')}, "message": string}}`;
  api.post<{ Body: Reply }>('/api/sessions/:id/replies', describedBody('POST', '/api/sessions/:id/replies', replyMessage), async (req) => {
    const id = sessionId(req);
    const reply = replyOf(req.body);
    await findSession(id);
    await deps.cluster.command({ kind: 'reply', target: { session: id }, ...reply });
    return { sessions: 1 };
  });

  api.get('/api/users/:id/sessions', async (req) => ({ user: userId(req), sessions: await deps.clusterActions.clusterSessions({ user: userId(req) }) }));

  api.post('/api/users/:id/disconnect', async (req) => {
    const user = userId(req);
    const reason = reasonOf(req);
    const sessions = await deps.clusterActions.clusterSessions({ user });
    return { sessions: await command({ user }, sessions, (target) => ({ kind: 'disconnect', target, code: CloseCodes.reconnect, reason })) };
  });

  api.post<{ Body: { data: unknown } }>('/api/users/:id/messages', describedBody('POST', '/api/users/:id/messages', 'expected {"data": ...}'), async (req) => {
    const user = userId(req);
    const { data } = req.body;
    const sessions = await deps.clusterActions.clusterSessions({ user });
    return { sessions: await command({ user }, sessions, (target) => ({ kind: 'send', target, data })) };
  });

  for (const kind of ['subscribe', 'unsubscribe'] as const) {
    api.post<{ Body: { channel: string } }>(`/api/users/:id/${kind}`, describedBody('POST', `/api/users/:id/${kind}`, 'expected {"channel": "..."}'), async (req) => {
      const user = userId(req);
      const channel = deps.rules.resolve(req.body.channel).name;
      const sessions = await deps.clusterActions.clusterSessions({ user });
      return { sessions: await command({ user }, sessions, (target) => ({ kind, target, channel })) };
    });
  }
};
