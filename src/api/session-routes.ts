import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ControlTarget } from '../brokers/broker.js';
import { CloseCodes, SwitchboardError, errorCodes, type ErrorCode } from '../protocol/errors.js';
import type { ChannelRules } from '../channels/channels.js';
import type { ClusterActions, ClusterCommand } from '../cluster/actions.js';
import type { Cluster } from '../cluster/cluster.js';
import type { SessionListing } from '../sessions/listing.js';
import type { FrameId } from '../protocol/frames.js';
import { isMapping } from '../config/values.js';
import { bodySchema } from './body-schema.js';
import { components } from './openapi-schemas.js';
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

/** A backend's late answer: `{"id", "data"}` or `{"id", "error": {"code", "message"}}`. */
function replyOf(req: FastifyRequest): { id: FrameId; data?: unknown; error?: { code: ErrorCode; message: string } } {
  const body = req.body;
  const id = isMapping(body) ? body.id : undefined;
  if (!isMapping(body) || !(typeof id === 'string' || typeof id === 'number'))
    throw new SwitchboardError('bad_request', 'expected {"id": frame id, "data": ...} or {"id": frame id, "error": {"code", "message"}}');
  if (body.error === undefined) {
    if (body.data === undefined) throw new SwitchboardError('bad_request', 'a reply needs data or error');
    return { id, data: body.data };
  }
  const error = body.error;
  if (!isMapping(error) || typeof error.code !== 'string' || !errorCodes.includes(error.code as ErrorCode) || typeof error.message !== 'string') {
    throw new SwitchboardError('bad_request', `error must be {"code": one of ${errorCodes.join(', ')}, "message": string}`);
  }
  return { id, error: { code: error.code as ErrorCode, message: error.message.slice(0, 200) } };
}

/** `{"data": ...}`, checked before the handler runs. */
const dataBody = bodySchema(components.Data!, 'expected {"data": ...}');
const dataOf = (req: FastifyRequest): unknown => (req.body as { data: unknown }).data;

/** `{"channel": "..."}`, checked before the handler runs. */
const channelBody = bodySchema(components.Channel!, 'expected {"channel": "..."}');
const channelOf = (req: FastifyRequest): string => (req.body as { channel: string }).channel;

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

  api.post('/api/sessions/:id/messages', dataBody, async (req) => {
    const id = sessionId(req);
    const data = dataOf(req);
    await findSession(id);
    await deps.cluster.command({ kind: 'send', target: { session: id }, data });
    return { sessions: 1 };
  });

  api.post('/api/sessions/:id/replies', async (req) => {
    const id = sessionId(req);
    const reply = replyOf(req);
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

  api.post('/api/users/:id/messages', dataBody, async (req) => {
    const user = userId(req);
    const data = dataOf(req);
    const sessions = await deps.clusterActions.clusterSessions({ user });
    return { sessions: await command({ user }, sessions, (target) => ({ kind: 'send', target, data })) };
  });

  for (const kind of ['subscribe', 'unsubscribe'] as const) {
    api.post(`/api/users/:id/${kind}`, channelBody, async (req) => {
      const user = userId(req);
      const channel = deps.rules.resolve(channelOf(req)).name;
      const sessions = await deps.clusterActions.clusterSessions({ user });
      return { sessions: await command({ user }, sessions, (target) => ({ kind, target, channel })) };
    });
  }
};
