import type { FastifyPluginAsync } from 'fastify';
import { SwitchboardError, asSwitchboardError } from '../protocol/errors.js';
import type { ChannelRules } from '../channels/channels.js';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { PublishResult, SessionService } from '../sessions/service.js';
import { isMapping } from '../config/values.js';

interface PublishItem extends PublishResult {
  channel: string;
}

type ItemResult = PublishItem | { channel?: unknown; error: { code: string; message: string } };

/** What the publish routes need: the channel rules and publishing. */
export interface PublishDeps {
  config: Pick<Config, 'api' | 'compat'>;
  metrics: Pick<Metrics, 'publishDuration' | 'stats'>;
  rules: ChannelRules;
  sessions: Pick<SessionService, 'publish'>;
}

/** POST /api/publish (one or a batch), POST /api/broadcast and the Push-compatible POST /messages. */
export const publishRoutes: FastifyPluginAsync<PublishDeps> = async (api, deps) => {
  const { config, metrics } = deps;

  const publishOne = async (item: unknown): Promise<PublishItem> => {
    if (!isMapping(item)) throw new SwitchboardError('bad_request', 'a publication is an object {channel, data}');
    const channel = deps.rules.resolve(item.channel);
    const started = process.hrtime.bigint();
    const result = await deps.sessions.publish(channel, item.data, 'api');
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
        results.push({ channel: isMapping(item) ? item.channel : undefined, error: error.toJSON() });
      }
    }
    return results;
  };

  api.post('/api/publish', async (req) => {
    if (Array.isArray(req.body)) return { results: await publishEach(req.body) };
    return publishOne(req.body);
  });

  api.post('/api/broadcast', async (req) => {
    const body = req.body;
    if (!isMapping(body) || !Array.isArray(body.channels) || body.channels.length === 0) {
      throw new SwitchboardError('bad_request', 'broadcast needs {channels: [names...], data}');
    }
    return { results: await publishEach(body.channels.map((channel) => ({ channel, data: body.data }))) };
  });

  if (config.compat.push.enabled) {
    // The Push-compatible publish endpoint: {"channel","message"} -> {"subscribers":N}.
    api.post('/messages', async (req) => {
      const body = req.body;
      if (!isMapping(body) || body.message === undefined) {
        throw new SwitchboardError('bad_request', 'expected {"channel": "...", "message": ...}');
      }
      const { subscribers } = await publishOne({ channel: body.channel, data: body.message });
      return { subscribers };
    });
  }
};
