import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StreamPosition } from '../brokers/broker.js';
import { SwitchboardError, asSwitchboardError } from '../errors.js';
import type { PublishResult, SwitchboardNode } from '../node.js';
import { wireFormatNames } from '../protocol/wire.js';
import type { Session } from '../sessions/session.js';
import { installErrorHandling } from './errors.js';

interface PublishItem extends PublishResult {
  channel: string;
}

type ItemResult = PublishItem | { channel?: unknown; error: { code: string; message: string } };

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The server HTTP API (docs/api.md). Everything under /api needs an API key unless api.insecure is set. */
export function registerApiRoutes(node: SwitchboardNode): void {
  const { app, config, metrics } = node;
  installErrorHandling(app, metrics.stats, node.log);

  const keys = config.api.keys.map((k) => Buffer.from(k));
  const keyMatches = (given: string): boolean => {
    const buf = Buffer.from(given);
    return keys.some((k) => k.length === buf.length && timingSafeEqual(k, buf));
  };
  const requireKey = async (req: FastifyRequest) => {
    if (config.api.insecure) return;
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7) : req.headers['x-api-key'];
    if (typeof given !== 'string' || !keyMatches(given)) {
      throw new SwitchboardError('unauthorized', 'a valid API key is required (Authorization: Bearer KEY or X-API-Key: KEY)');
    }
  };

  const publishOne = async (item: unknown): Promise<PublishItem> => {
    if (!isObject(item)) throw new SwitchboardError('bad_request', 'a publication is an object {channel, data}');
    const channel = node.rules.resolve(item.channel);
    const started = process.hrtime.bigint();
    const result = await node.publish(channel, item.data, 'api');
    metrics.publishDuration.observe({ source: 'api' }, Number(process.hrtime.bigint() - started) / 1e9);
    return { channel: channel.name, ...result };
  };

  /** Publishes items in order; a bad item gets its own error without stopping the rest. */
  const publishEach = async (items: unknown[]): Promise<ItemResult[]> => {
    if (items.length > config.api.maxBatchSize) {
      metrics.stats.limit('batch_size');
      throw new SwitchboardError('too_large', `a batch holds at most ${config.api.maxBatchSize} publications (api.maxBatchSize)`);
    }
    const results: ItemResult[] = [];
    for (const item of items) {
      try {
        results.push(await publishOne(item));
      } catch (err) {
        const error = asSwitchboardError(err);
        metrics.stats.error(error.code);
        results.push({ channel: isObject(item) ? item.channel : undefined, error: error.toJSON() });
      }
    }
    return results;
  };

  app.register(async (api) => {
    api.addHook('onRequest', requireKey);

    api.post('/api/publish', async (req) => {
      if (Array.isArray(req.body)) return { results: await publishEach(req.body) };
      return publishOne(req.body);
    });

    api.post('/api/broadcast', async (req) => {
      const body = req.body;
      if (!isObject(body) || !Array.isArray(body.channels) || body.channels.length === 0) {
        throw new SwitchboardError('bad_request', 'broadcast needs {channels: [names...], data}');
      }
      return { results: await publishEach(body.channels.map((channel) => ({ channel, data: body.data }))) };
    });

    api.get('/api/channels', async (req) => {
      const { prefix } = req.query as { prefix?: string };
      return { node: node.id, channels: node.hub.list(prefix ?? '') };
    });

    api.get('/api/channels/:channel/presence', async (req) => {
      const channel = node.rules.resolve((req.params as { channel: string }).channel);
      if (!channel.options.presence) {
        throw new SwitchboardError('not_found', `presence is not enabled for ${channel.namespace ? `namespace ${channel.namespace}` : 'channels without a namespace'}`);
      }
      const members = node.hub.subscribers(channel.name).map((s) => ({ session: s.id, user: s.user }));
      return { channel: channel.name, members };
    });

    api.get('/api/channels/:channel/history', async (req) => {
      const channel = node.rules.resolve((req.params as { channel: string }).channel);
      if (channel.options.historySize === 0) {
        throw new SwitchboardError('not_found', `history is not enabled for ${channel.namespace ? `namespace ${channel.namespace}` : 'channels without a namespace'}`);
      }
      const query = req.query as { since?: string; limit?: string; reverse?: string };
      const result = await node.broker.history(channel.name, {
        since: query.since === undefined ? undefined : parseSince(query.since),
        limit: query.limit === undefined ? undefined : parseLimit(query.limit),
        reverse: query.reverse === 'true' || query.reverse === '1',
      });
      return {
        channel: channel.name,
        offset: result.position.offset,
        epoch: result.position.epoch,
        publications: result.publications.map((p) => ({ data: p.data, offset: p.offset, epoch: p.epoch, time: new Date(p.time).toISOString() })),
      };
    });

    api.get('/api/sessions', async (req) => {
      const { user, channel } = req.query as { user?: string; channel?: string };
      let sessions = user !== undefined ? [...node.registry.ofUser(user)] : [...node.registry.all()];
      if (channel !== undefined) sessions = sessions.filter((s) => s.channels.has(channel));
      return { node: node.id, sessions: sessions.map((s) => describe(node, s)) };
    });

    api.get('/api/sessions/:id', async (req) => {
      const session = node.registry.get((req.params as { id: string }).id);
      if (!session) throw new SwitchboardError('not_found', 'no such session on this node');
      return describe(node, session);
    });

    const disconnect = async (req: FastifyRequest, reply: FastifyReply) => {
      const { id } = req.params as { id: string };
      const body = isObject(req.body) ? req.body : {};
      const { reason: queryReason } = req.query as { reason?: string };
      const reason = typeof body.reason === 'string' ? body.reason : queryReason ?? 'disconnected by the server';
      // A WebSocket close frame carries at most 123 bytes of reason.
      if (Buffer.byteLength(reason) > 120) throw new SwitchboardError('bad_request', 'reason is longer than 120 bytes (UTF-8)');
      if (!node.disconnect(id, reason)) throw new SwitchboardError('not_found', 'no such session on this node');
      reply.code(200);
      return { disconnected: id, reason };
    };
    api.delete('/api/sessions/:id', disconnect);
    api.post('/api/sessions/:id/disconnect', disconnect);

    api.get('/api/info', async () => ({
      node: node.id,
      broker: node.broker.name,
      uptimeSeconds: Math.round(node.uptimeSeconds),
      sessions: node.registry.size,
      subscriptions: node.hub.subscriptions,
      channels: node.hub.channelCount,
      state: node.isReady ? 'running' : node.isDraining ? 'draining' : 'stopped',
    }));

    if (config.compat.push.enabled) {
      // The Push seed's publish endpoint: {"channel","message"} -> {"subscribers":N}.
      api.post('/messages', async (req) => {
        const body = req.body;
        if (!isObject(body) || body.message === undefined) {
          throw new SwitchboardError('bad_request', 'expected {"channel": "...", "message": ...}');
        }
        const { subscribers } = await publishOne({ channel: body.channel, data: body.message });
        return { subscribers };
      });
    }
  });
}

/** `since=OFFSET:EPOCH`, the position a client last saw. */
function parseSince(text: string): StreamPosition {
  const match = /^(\d{1,15}):([A-Za-z0-9]{0,64})$/.exec(text);
  if (!match) throw new SwitchboardError('bad_request', 'since must be OFFSET:EPOCH, e.g. since=41:3f2a9c1b');
  return { offset: Number(match[1]), epoch: match[2]! };
}

function parseLimit(text: string): number {
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 0 || limit > 100_000) throw new SwitchboardError('bad_request', 'limit must be an integer from 0 to 100000');
  return limit;
}

function describe(node: SwitchboardNode, session: Session) {
  return { ...session.describe(), node: node.id, transport: wireFormatNames[session.format] };
}
