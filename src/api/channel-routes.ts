import type { FastifyPluginAsync } from 'fastify';
import type { StreamPosition } from '../brokers/broker.js';
import type { ChannelRules, ResolvedChannel } from '../channels/channels.js';
import { SwitchboardError } from '../protocol/errors.js';
import type { ChannelCount } from '../hub/hub.js';
import type { Broker } from '../brokers/broker.js';
import type { Cluster } from '../cluster/cluster.js';
import { pageAnswer, pageOf, pageRequestOf } from '../sessions/listing.js';

const channelKey = (c: { channel: string }) => c.channel;

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

function scope(channel: ResolvedChannel): string {
  return channel.namespace ? `namespace ${channel.namespace}` : 'channels without a namespace';
}

/** What the channel routes need: the rules, cluster queries, presence and history. */
export interface ChannelDeps {
  rules: ChannelRules;
  cluster: Pick<Cluster, 'query'>;
  broker: Pick<Broker, 'presence' | 'history'>;
}

/** Channels across the cluster: subscriber counts, presence, history. */
export const channelRoutes: FastifyPluginAsync<ChannelDeps> = async (api, deps) => {
  const channelOf = (params: unknown) => deps.rules.resolve((params as { channel: string }).channel);

  const withPresence = (params: unknown): ResolvedChannel => {
    const channel = channelOf(params);
    if (!channel.options.presence) throw new SwitchboardError('not_found', `presence is not enabled for ${scope(channel)}`);
    return channel;
  };

  api.get('/api/channels', async (req) => {
    const query = req.query as { prefix?: string; limit?: string; after?: string };
    const page = pageRequestOf(query);
    const answers = await deps.cluster.query({ what: 'channels', prefix: query.prefix ?? '' });
    const totals = new Map<string, number>();
    for (const list of answers.values()) {
      for (const { channel, subscribers } of list as ChannelCount[]) totals.set(channel, (totals.get(channel) ?? 0) + subscribers);
    }
    const channels = [...totals].map(([channel, subscribers]) => ({ channel, subscribers }));
    if (!page) return { nodes: answers.size, channels: channels.sort((a, b) => (a.channel < b.channel ? -1 : 1)) };
    const { entries, total, next } = pageAnswer(pageOf(channels, channelKey, page), page.limit, channelKey);
    return { nodes: answers.size, channels: entries, total, next };
  });

  api.get('/api/channels/:channel/presence', async (req) => {
    const channel = withPresence(req.params);
    return { channel: channel.name, members: await deps.broker.presence.list(channel.name) };
  });

  api.get('/api/channels/:channel/presence-stats', async (req) => {
    const channel = withPresence(req.params);
    const members = await deps.broker.presence.list(channel.name);
    return { channel: channel.name, sessions: members.length, users: new Set(members.map((m) => m.user)).size };
  });

  api.get('/api/channels/:channel/history', async (req) => {
    const channel = channelOf(req.params);
    if (channel.options.historySize === 0) throw new SwitchboardError('not_found', `history is not enabled for ${scope(channel)}`);
    const query = req.query as { since?: string; limit?: string; reverse?: string };
    const result = await deps.broker.history(channel.name, {
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
};
