import type { FastifyPluginAsync } from 'fastify';
import { SwitchboardError, asSwitchboardError } from '../protocol/errors.js';
import type { ChannelRules } from '../channels/channels.js';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { PublishResult, SessionService } from '../sessions/service.js';
import { isMapping } from '../config/values.js';
import { describedBody } from './body-schema.js';

interface PublishItem extends PublishResult {
  channel: string;
}

type ItemResult = PublishItem | { channel?: unknown; error: { code: string; message: string } };

/** Bodies checked before the handler runs. */
const broadcastBody = describedBody('POST', '/api/broadcast', 'broadcast needs {channels: [names...], data}');
const pushMessageBody = describedBody('POST', '/messages', 'expected {"channel": "...", "message": ...}');

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

  api.post<{ Body: { channels: string[]; data: unknown } }>('/api/broadcast', broadcastBody, async (req) => {
    const { channels, data } = req.body;
    return { results: await publishEach(channels.map((channel) => ({ channel, data }))) };
  });

  if (config.compat.push.enabled) {
    // The Push-compatible publish endpoint: {"channel","message"} -> {"subscribers":N}.
    api.post<{ Body: { channel: string; message: unknown } }>('/messages', pushMessageBody, async (req) => {
      const { subscribers } = await publishOne({ channel: req.body.channel, data: req.body.message });
      return { subscribers };
    });
  }
};
