import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { SwitchboardError, asSwitchboardError } from '../protocol/errors.js';
import { authorize, keyOf, principalResolver } from '../topics/access.js';
import { publicApplication, type Principal } from '../topics/applications.js';
import { keyScopes, parseQuotas, type KeyScope } from '../config/topics.js';
import { QuotaExceeded } from '../topics/quotas.js';
import { checkName } from '../topics/names.js';
import type { PublishInput } from '../topics/publisher.js';
import { parseAckIds, parseDelay, parseTime } from '../topics/request-input.js';
import type { SubscriptionOptions, SubscriptionRecord, TopicRecord, TopicService } from '../topics/service.js';
import type { AckOutcome, SeekTarget } from '../topics/store.js';
import { ackResults, publicMessage, publicReceived, publicSubscription, publicTopic } from '../topics/views.js';
import type { OtherCredentials } from '../auth/api-keys.js';
import { describedBody } from './body-schema.js';
import { isMapping } from '../config/values.js';

function requireServer(principal: Principal): void {
  if (principal.kind !== 'server') throw new SwitchboardError('forbidden', 'this call needs a server admin key (api.keys)');
}

function jsonObject(req: FastifyRequest): Record<string, unknown> {
  if (req.body === undefined || req.body === null) return {};
  if (!isMapping(req.body)) throw new SwitchboardError('bad_request', 'the body must be a JSON object');
  return req.body;
}

/** `?time=` (ISO 8601 or ms) or `?position=` as where to read from, and `?limit=` (default 100). */
function fromQuery(query: Record<string, string | undefined>): { from?: SeekTarget; limit: number } {
  const limit = query.limit === undefined ? 100 : Number(query.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new SwitchboardError('bad_request', 'limit is between 1 and 1000');
  if (query.time !== undefined) return { from: { time: parseTime(query.time, 'time') }, limit };
  if (query.position !== undefined) return { from: { position: query.position }, limit };
  return { limit };
}

type Params = { app: string; topic: string; sub: string; key: string; grantee: string };
type NewTopic = { name: string; retentionMs?: number; retentionBytes?: number; partitions?: number };
type NewSubscription = { name: string } & SubscriptionOptions;
type Settlement = { ackIds: unknown; delayMs?: number; deadlineMs?: number };
type Req = FastifyRequest<{ Params: Params; Querystring: Record<string, string | undefined> }>;

/**
 * The durable topics API under /api/topics (docs/topics.md): applications and their keys (server
 * admin keys), topics, grants, publish, subscriptions, pull, ack, nack, deadline changes, seek and
 * dead letters (application keys with the right scope, or a server admin key).
 */
export interface TopicRouteOptions {
  topics: TopicService;
  apiConfig: Config['api'];
  /** Console keys and JWTs, admitted as well (admin.enabled). */
  consoleAccess: OtherCredentials | undefined;
}

export const topicRoutes: FastifyPluginAsync<TopicRouteOptions> = async (api, { topics, apiConfig, consoleAccess }) => {
  const resolve = principalResolver(apiConfig, topics.applications);
  const principals = new WeakMap<FastifyRequest, Principal>();
  api.addHook('onRequest', async (req) => {
    const key = keyOf(req.headers);
    // A console sign-in (admin.enabled) acts as the server; the read-only role only on reading calls.
    const signedIn = !apiConfig.insecure && key !== undefined && consoleAccess !== undefined && (await consoleAccess(req, key));
    principals.set(req, signedIn ? { kind: 'server' } : await resolve(key));
  });
  const who = (req: FastifyRequest) => principals.get(req)!;
  const base = '/api/topics';
  // Access is decided before the body is checked: a key without the right scope is told so (403), whatever it sent.
  const server = { preValidation: async (req: FastifyRequest) => requireServer(who(req)) };
  const scoped = (scopes: KeyScope[]) => ({ preValidation: async (req: FastifyRequest) => authorize(who(req), (req.params as Params).app, scopes) });
  const body = (method: 'POST' | 'PATCH', path: string, message: string) => describedBody(method, `${base}${path}`, message);
  const quotas = (app: Parameters<typeof topics.quotasOf>[0]) => topics.quotasOf(app);

  // Applications

  api.post<{ Body: { id: string; quotas?: unknown } }>(
    `${base}/applications`,
    { ...server, ...body('POST', '/applications', 'an application is {"id": "...", "quotas"?: {...}}') },
    async (req, reply) => {
      const { app, key } = await topics.applications.create(req.body.id, parseQuotasOrBadRequest(req.body.quotas));
      reply.code(201);
      return { application: publicApplication(app, quotas(app)), key };
    },
  );
  api.get(`${base}/applications`, async (req: Req) => {
    requireServer(who(req));
    return { applications: (await topics.applications.list()).map((a) => publicApplication(a, quotas(a))) };
  });
  api.get(`${base}/applications/:app`, async (req: Req) => {
    authorize(who(req), req.params.app, ['admin']);
    const app = await topics.applications.require(req.params.app);
    return publicApplication(app, quotas(app));
  });
  api.patch<{ Params: Params; Body: { quotas?: unknown } | null }>(
    `${base}/applications/:app`,
    { ...server, ...body('PATCH', '/applications/:app', 'expected {"quotas": {...}}') },
    async (req) => {
      const q = parseQuotasOrBadRequest(req.body?.quotas);
      const app = await topics.applications.update(req.params.app, (a) => (a.quotas = { ...a.quotas, ...q }));
      return publicApplication(app, quotas(app));
    },
  );
  api.delete(`${base}/applications/:app`, async (req: Req, reply) => {
    requireServer(who(req));
    await topics.deleteApplication(req.params.app);
    reply.code(204);
  });
  const keysBody = body('POST', '/applications/:app/keys', `expected {"scopes": [some of ${keyScopes.join(', ')}]}`);
  api.post<{ Params: Params; Body: { scopes: KeyScope[] } }>(`${base}/applications/:app/keys`, { ...scoped(['admin']), ...keysBody }, async (req, reply) => {
    const { key, record } = await topics.applications.addKey(req.params.app, req.body.scopes);
    reply.code(201);
    return { id: record.id, key, scopes: record.scopes, createdAt: new Date(record.createdAt).toISOString() };
  });
  api.delete(`${base}/applications/:app/keys/:key`, async (req: Req, reply) => {
    authorize(who(req), req.params.app, ['admin']);
    await topics.applications.revokeKey(req.params.app, req.params.key);
    reply.code(204);
  });

  // Topics

  const topicView = async (t: TopicRecord) => ({
    ...publicTopic(t),
    stats: await topics.topicStats(t.application, t.name),
    counts: topics.metrics.countsOf(`${t.application}/${t.name}`),
  });
  api.get(`${base}/:app/topics`, async (req: Req) => {
    authorize(who(req), req.params.app, ['admin', 'publish']);
    await topics.applications.require(req.params.app);
    return { topics: (await topics.listTopics(req.params.app)).map(publicTopic) };
  });
  const newTopicBody = body('POST', '/:app/topics', 'a topic is {"name": "...", "retentionMs"?: number, "retentionBytes"?: number, "partitions"?: number}');
  api.post<{ Params: Params; Body: NewTopic }>(`${base}/:app/topics`, { ...scoped(['admin']), ...newTopicBody }, async (req, reply) => {
    const { name, retentionMs, retentionBytes, partitions } = req.body;
    const topic = await topics.createTopic(req.params.app, checkName('topic', name), { retentionMs, retentionBytes, partitions });
    reply.code(201);
    return publicTopic(topic);
  });
  api.get(`${base}/:app/topics/:topic`, async (req: Req) => {
    authorize(who(req), req.params.app, ['admin', 'publish']);
    return topicView(await topics.getTopic(req.params.app, req.params.topic));
  });
  const topicChangeBody = body('PATCH', '/:app/topics/:topic', 'expected {"retentionMs"?: number, "retentionBytes"?: number}');
  api.patch<{ Params: Params; Body: Partial<NewTopic> | null }>(`${base}/:app/topics/:topic`, { ...scoped(['admin']), ...topicChangeBody }, async (req) => {
    const { retentionMs, retentionBytes } = req.body ?? {};
    return publicTopic(await topics.updateTopic(req.params.app, req.params.topic, { retentionMs, retentionBytes }));
  });
  api.delete(`${base}/:app/topics/:topic`, async (req: Req, reply) => {
    authorize(who(req), req.params.app, ['admin']);
    await topics.deleteTopic(req.params.app, req.params.topic);
    reply.code(204);
  });
  api.put(`${base}/:app/topics/:topic/grants/:grantee`, async (req: Req) => {
    authorize(who(req), req.params.app, ['admin']);
    return publicTopic(await topics.grant(req.params.app, req.params.topic, req.params.grantee, true));
  });
  api.delete(`${base}/:app/topics/:topic/grants/:grantee`, async (req: Req) => {
    authorize(who(req), req.params.app, ['admin']);
    return publicTopic(await topics.grant(req.params.app, req.params.topic, req.params.grantee, false));
  });
  api.get(`${base}/:app/topics/:topic/messages`, async (req: Req) => {
    authorize(who(req), req.params.app, ['admin', 'subscribe']);
    return { messages: (await topics.readTopic(req.params.app, req.params.topic, fromQuery(req.query))).map(publicMessage) };
  });
  api.post(`${base}/:app/topics/:topic/publish`, { bodyLimit: topics.config.maxRequestBytes }, async (req: Req, reply: FastifyReply) => {
    authorize(who(req), req.params.app, ['publish']);
    const b = jsonObject(req);
    const batch = b.messages !== undefined;
    if (batch && !Array.isArray(b.messages)) throw new SwitchboardError('bad_request', 'messages must be a list');
    const items = batch ? (b.messages as unknown[]) : [b];
    if (items.length === 0) throw new SwitchboardError('bad_request', 'messages is empty');
    let outcomes;
    try {
      outcomes = await topics.publish(
        req.params.app,
        req.params.topic,
        items.map((item) => publishInputOrError(item, topics.config.maxKeyBytes)),
      );
    } catch (err) {
      if (err instanceof QuotaExceeded) reply.header('retry-after', String(err.retryAfterSeconds));
      throw err;
    }
    const results = outcomes.map((o) => (o.ok ? { id: o.id, position: o.position, duplicate: o.duplicate } : { error: o.error.toJSON() }));
    if (batch) return { results };
    const [only] = outcomes;
    if (only && !only.ok) throw only.error;
    return results[0];
  });

  // Subscriptions

  api.get(`${base}/:app/subscriptions`, async (req: Req) => {
    authorize(who(req), req.params.app, ['admin', 'subscribe']);
    await topics.applications.require(req.params.app);
    return { subscriptions: (await topics.listSubscriptions(req.params.app)).map(publicSubscription) };
  });
  const subscriptionMessage =
    'a subscription is {"name": "...", "topic": "...", "ackDeadlineMs"?: number, "maxDeliveryAttempts"?: number, "deadLetterTopic"?: "...", "ordered"?: true|false, "push"?: {"endpoint": "https://...", "secret": "..."} | null}';
  const newSubscriptionBody = body('POST', '/:app/subscriptions', subscriptionMessage);
  api.post<{ Params: Params; Body: NewSubscription }>(`${base}/:app/subscriptions`, { ...scoped(['admin']), ...newSubscriptionBody }, async (req, reply) => {
    const { name, ...options } = req.body;
    const sub = await topics.createSubscription(req.params.app, checkName('subscription', name), options);
    reply.code(201);
    return publicSubscription(sub);
  });
  api.get(`${base}/:app/subscriptions/:sub`, async (req: Req) => {
    authorize(who(req), req.params.app, ['admin', 'subscribe']);
    const sub = await topics.getSubscription(req.params.app, req.params.sub);
    return {
      ...publicSubscription(sub),
      stats: await topics.subscriptionStats(req.params.app, req.params.sub),
      counts: topics.metrics.countsOf(`${sub.application}/${sub.name}`),
    };
  });
  const subscriptionChangeBody = body('PATCH', '/:app/subscriptions/:sub', subscriptionMessage);
  api.patch<{ Params: Params; Body: Partial<NewSubscription> | null }>(`${base}/:app/subscriptions/:sub`, { ...scoped(['admin']), ...subscriptionChangeBody }, async (req) => {
    const { name, ...options } = req.body ?? {};
    return publicSubscription(await topics.updateSubscription(req.params.app, req.params.sub, options));
  });
  api.delete(`${base}/:app/subscriptions/:sub`, async (req: Req, reply) => {
    authorize(who(req), req.params.app, ['admin']);
    await topics.deleteSubscription(req.params.app, req.params.sub);
    reply.code(204);
  });
  const pullBody = body('POST', '/:app/subscriptions/:sub/pull', 'expected {"maxMessages"?: number, "waitMs"?: number}');
  api.post<{ Params: Params; Body: { maxMessages?: number; waitMs?: number } | null }>(
    `${base}/:app/subscriptions/:sub/pull`,
    { ...scoped(['subscribe']), ...pullBody },
    async (req) => {
      const { maxMessages = 100, waitMs = 0 } = req.body ?? {};
      const abort = new AbortController();
      const onClose = () => abort.abort();
      req.raw.socket.once('close', onClose);
      try {
        const received = await topics.pull(req.params.app, req.params.sub, {
          maxMessages,
          waitMs,
          signal: abort.signal,
        });
        return { messages: received.map(publicReceived) };
      } finally {
        req.raw.socket.off('close', onClose);
      }
    },
  );
  const settle = (path: string, message: string, act: (sub: SubscriptionRecord, b: Settlement, ackIds: string[]) => Promise<AckOutcome[]>) =>
    api.post<{ Params: Params; Body: Settlement }>(
      `${base}/:app/subscriptions/:sub/${path}`,
      { ...scoped(['subscribe']), ...body('POST', `/:app/subscriptions/:sub/${path}`, message) },
      async (req) => {
        const ackIds = parseAckIds(req.body.ackIds);
        const outcomes = await act(await topics.getSubscription(req.params.app, req.params.sub), req.body, ackIds);
        for (const o of outcomes) if (o !== 'ok') topics.metrics.onAckRejected(o);
        return { results: ackResults(ackIds, outcomes) };
      },
    );
  settle('ack', 'expected {"ackIds": [...]}', (sub, _b, ackIds) => topics.ack(sub, ackIds));
  settle('nack', 'expected {"ackIds": [...], "delayMs"?: number}', (sub, b, ackIds) => topics.nack(sub, ackIds, b.delayMs ?? 0));
  settle('modify-deadline', 'modify-deadline needs {"ackIds": [...], "deadlineMs": number} (0 gives the messages back now)', (sub, b, ackIds) =>
    topics.modifyDeadline(sub, ackIds, b.deadlineMs!),
  );
  const seekBody = body('POST', '/:app/subscriptions/:sub/seek', 'seek takes {"time": ISO 8601 or ms} or {"position": "..."}');
  api.post<{ Params: Params; Body: { time: string | number } | { position: string } }>(
    `${base}/:app/subscriptions/:sub/seek`,
    { ...scoped(['subscribe', 'admin']), ...seekBody },
    async (req) => {
      await topics.seek(req.params.app, req.params.sub, 'position' in req.body ? { position: req.body.position } : { time: parseTime(req.body.time, 'time') });
      return { ok: true };
    },
  );
  api.get(`${base}/:app/subscriptions/:sub/dead-letters`, async (req: Req) => {
    authorize(who(req), req.params.app, ['admin', 'subscribe']);
    return { messages: (await topics.deadLetters(req.params.app, req.params.sub, fromQuery(req.query))).map(publicMessage) };
  });
  const replayBody = body('POST', '/:app/subscriptions/:sub/dead-letters/replay', 'expected {} or {"ids": [dead letter ids]}');
  api.post<{ Params: Params; Body: { ids?: string[] } | null }>(`${base}/:app/subscriptions/:sub/dead-letters/replay`, { ...scoped(['admin']), ...replayBody }, async (req) =>
    topics.replayDeadLetters(req.params.app, req.params.sub, req.body?.ids),
  );
};

function parseQuotasOrBadRequest(value: unknown) {
  try {
    return parseQuotas(value, 'quotas');
  } catch (err) {
    throw new SwitchboardError('bad_request', (err as Error).message);
  }
}

function isStringMap(value: unknown): value is Record<string, string> {
  return isMapping(value) && Object.values(value).every((v) => typeof v === 'string');
}

/** One message of a publish body, or the error that refuses it alone (the others still land). */
function publishInputOrError(item: unknown, maxKeyBytes: number): PublishInput | SwitchboardError {
  try {
    return publishInput(item, maxKeyBytes);
  } catch (err) {
    return asSwitchboardError(err);
  }
}

function publishInput(item: unknown, maxKeyBytes: number): PublishInput {
  if (!isMapping(item)) throw new SwitchboardError('bad_request', 'a message is an object {data, attributes?, orderingKey?, idempotencyKey?, deliverAt? | delay?}');
  if (item.data === undefined) throw new SwitchboardError('bad_request', 'a message needs data');
  const input: PublishInput = { data: item.data };
  if (item.attributes !== undefined) {
    if (!isStringMap(item.attributes)) throw new SwitchboardError('bad_request', 'attributes must be an object of string values');
    input.attributes = item.attributes;
  }
  for (const key of ['orderingKey', 'idempotencyKey'] as const) {
    const value = item[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new SwitchboardError('bad_request', `${key} must be a string of 1-${maxKeyBytes} bytes (topics.maxKeyBytes)`);
    input[key] = value;
  }
  const delay = item.delayMs ?? item.delay;
  if (item.deliverAt !== undefined && delay !== undefined) throw new SwitchboardError('bad_request', 'give deliverAt or delay, not both');
  if (item.deliverAt !== undefined) input.deliverAt = parseTime(item.deliverAt, 'deliverAt');
  if (delay !== undefined) input.delayMs = parseDelay(delay);
  return input;
}
