/** Every route of the server API as OpenAPI describes it: method, path, access, schemas and examples. */
import { errorCodes, type ErrorCode } from '../protocol/errors.js';
import { schemas, type Schema } from './openapi-schemas.js';

const { str, int, anyJson, list, object, ref } = schemas;

/** Who may call a route: an admin key, a publish or admin key, an application key (topics), anyone. */
export type Access = 'admin' | 'publish' | 'application' | 'none';

export interface ApiOperation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Fastify's pattern, `:name` for a path parameter. */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  /** Application key scopes that may call a topic route (besides a server admin key). */
  scopes?: string[];
  query?: Record<string, Schema>;
  body?: Schema;
  /** A route whose body may be left out. */
  bodyOptional?: boolean;
  requestExample?: unknown;
  status?: number;
  response?: Schema;
  example?: unknown;
  /** Set for answers that are not JSON documents. */
  contentType?: string;
  errors?: ErrorCode[];
  /** Routes that exist only with the service gateway, the Push-compatible endpoints or the admin console on. */
  when?: keyof Features;
}

/** Optional parts of the API, on or off by configuration. */
export interface Features {
  gateway: boolean;
  push: boolean;
  admin: boolean;
}

const session = {
  id: 'dbd4a775-5f7e-4d35-9f2c-0a1b2c3d4e5f',
  user: 'alice',
  remote: '10.0.0.7',
  connectedAt: '2026-12-04T06:00:00.000Z',
  channels: ['news'],
  node: '4f1c2a9b7e3d',
  transport: 'ws',
  context: {},
  messagesSent: 14,
  bytesSent: 1830,
  messagesReceived: 3,
  bytesReceived: 121,
};
const topic = { application: 'shop', name: 'orders', retentionMs: 604800000, retentionBytes: 0, partitions: 1, grants: [], createdAt: '2026-12-04T06:00:00.000Z' };
const subscription = {
  application: 'shop',
  name: 'billing',
  topic: 'shop/orders',
  type: 'pull',
  ackDeadlineMs: 30000,
  maxDeliveryAttempts: 5,
  ordered: false,
  createdAt: '2026-12-04T06:00:00.000Z',
};
const message = { id: '0b6f5b0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b', position: '1-0', data: { order: 42 }, attributes: { kind: 'created' }, publishTime: '2026-12-04T06:00:00.000Z' };
const application = { id: 'shop', source: 'api', createdAt: '2026-12-04T06:00:00.000Z', quotas: {}, keys: [{ id: 'k1', scopes: ['publish'], createdAt: '2026-12-04T06:00:00.000Z' }] };
const instance = { id: 'orders-1', service: 'orders', url: 'http://10.0.0.9:8080', weight: 1, metadata: {}, ttl: 30000, state: 'available', outstanding: 0, ejectedUntil: null };
const name = (what: string) => ({ description: what, ...str() });
const paged = { limit: { type: 'string', pattern: '^[0-9]+$', description: 'at most this many (1 to 1000, default 100)' }, time: name('read from this time: ISO 8601 or ms since the epoch'), position: name('read from this position') };
/** limit= and after= of the paged lists (sessions, channels). */
const pageQuery = {
  limit: { type: 'string', pattern: '^[0-9]+$', description: 'a page of at most this many (1 to 1000), ordered by id or name; without it, the whole list' },
  after: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', description: 'the next cursor of the previous page' },
};
/** What a paged answer adds. */
const pageFields = { total: int('entries in all pages'), next: { type: ['string', 'null'], description: 'cursor of the next page; null on the last' } };
const nodeSample = { t: 1796364000000, connections: 3, subscriptions: 5, publications: 12.5, deliveries: 40, errors: 0, cpu: 3.2, rss: 82000000, heapUsed: 31000000 };
const topicRead = { errors: ['bad_request', 'not_found'] as ErrorCode[] };
const empty = { status: 204 };

export const apiOperations: ApiOperation[] = [
  // Publishing
  {
    method: 'POST', path: '/api/publish', tag: 'publish', access: 'publish', summary: 'Publish one publication, or a batch (an array) in order',
    body: { oneOf: [ref('Publication'), list(ref('Publication'))] }, requestExample: { channel: 'news', data: { text: 'hello' } },
    response: { oneOf: [ref('PublishResult'), ref('Results')] }, example: { channel: 'news', subscribers: 2 },
    errors: ['bad_request', 'not_found', 'too_large', 'unavailable'],
  },
  {
    method: 'POST', path: '/api/broadcast', tag: 'publish', access: 'publish', summary: 'Publish the same data to several channels',
    body: object({ channels: { ...list(str()), minItems: 1 }, data: anyJson }, ['channels', 'data']), requestExample: { channels: ['news', 'sport'], data: 1 },
    response: ref('Results'), example: { results: [{ channel: 'news', subscribers: 2 }, { channel: 'sport', subscribers: 0 }] },
    errors: ['bad_request', 'too_large', 'unavailable'],
  },
  {
    method: 'POST', path: '/messages', tag: 'publish', access: 'publish', when: 'push', summary: 'The Push-compatible publish endpoint',
    body: object({ channel: str(), message: anyJson }, ['channel', 'message']), requestExample: { channel: 'news', message: 'hello' },
    response: object({ subscribers: int() }, ['subscribers']), example: { subscribers: 1 },
    errors: ['bad_request', 'not_found', 'unavailable'],
  },
  // Channels
  {
    method: 'GET', path: '/api/channels', tag: 'channels', access: 'admin', summary: 'Channels with subscribers across the cluster',
    query: { prefix: name('only channels starting with this'), ...pageQuery },
    response: object(
      { nodes: int('nodes that answered'), channels: list(object({ channel: str(), subscribers: int() }, ['channel', 'subscribers'])), ...pageFields },
      ['nodes', 'channels'],
    ),
    example: { nodes: 2, channels: [{ channel: 'news', subscribers: 3 }] },
  },
  {
    method: 'GET', path: '/api/channels/:channel/presence', tag: 'channels', access: 'publish', summary: 'Who is subscribed to a channel with presence',
    response: object({ channel: str(), members: list(object({ session: str(), user: str() })) }, ['channel', 'members']),
    example: { channel: 'chat:lobby', members: [{ session: session.id, user: 'alice' }] },
    errors: ['bad_request', 'not_found', 'unavailable'],
  },
  {
    method: 'GET', path: '/api/channels/:channel/presence-stats', tag: 'channels', access: 'publish', summary: 'Session and user counts of a channel with presence',
    response: object({ channel: str(), sessions: int(), users: int() }, ['channel', 'sessions', 'users']), example: { channel: 'chat:lobby', sessions: 3, users: 2 },
    errors: ['bad_request', 'not_found', 'unavailable'],
  },
  {
    method: 'GET', path: '/api/channels/:channel/history', tag: 'channels', access: 'publish', summary: 'Publications a channel with history keeps',
    query: {
      since: { type: 'string', pattern: '^\\d{1,15}:[A-Za-z0-9]{0,64}$', description: 'OFFSET:EPOCH, the position last seen' },
      limit: { type: 'string', pattern: '^\\d+$', description: 'at most this many (0 to 100000)' },
      reverse: { type: 'string', enum: ['true', '1', 'false', '0'] },
    },
    response: object(
      { channel: str(), offset: int(), epoch: str(), publications: list(object({ data: anyJson, offset: int(), epoch: str(), time: schemas.time }, ['offset', 'epoch', 'time'])) },
      ['channel', 'offset', 'epoch', 'publications'],
    ),
    example: { channel: 'feed:scores', offset: 2, epoch: '439322b8', publications: [{ data: { home: 1 }, offset: 2, epoch: '439322b8', time: '2026-12-04T06:00:00.000Z' }] },
    errors: ['bad_request', 'not_found', 'unavailable'],
  },
  // Sessions and users
  {
    method: 'GET', path: '/api/sessions', tag: 'sessions', access: 'admin', summary: 'Sessions on every node',
    query: {
      user: name('only this user\'s sessions'),
      channel: name('only sessions subscribed to this channel'),
      node: name('only sessions on this node'),
      transport: { type: 'string', enum: ['ws', 'sse', 'http-stream', 'push-ws', 'push-sse', 'long-poll'] },
      ...pageQuery,
    },
    response: object({ sessions: list(ref('Session')), ...pageFields }, ['sessions']), example: { sessions: [session], total: 1, next: null },
  },
  { method: 'GET', path: '/api/sessions/:id', tag: 'sessions', access: 'admin', summary: 'One session, on whatever node holds it', response: ref('Session'), example: session, errors: ['not_found'] },
  ...(['DELETE', 'POST'] as const).map((method): ApiOperation => ({
    method, path: method === 'DELETE' ? '/api/sessions/:id' : '/api/sessions/:id/disconnect', tag: 'sessions', access: 'admin', summary: 'Disconnect a session (it may reconnect)',
    query: { reason: { type: 'string', maxLength: 120 }, code: { type: 'integer', minimum: 4000, maximum: 4999 } }, body: ref('Disconnect'), bodyOptional: true, requestExample: { reason: 'maintenance', code: 4000 },
    response: object({ disconnected: str(), reason: str(), code: { type: 'integer' } }, ['disconnected', 'reason']), example: { disconnected: session.id, reason: 'maintenance' },
    errors: ['bad_request', 'not_found'],
  })),
  {
    method: 'POST', path: '/api/sessions/:id/messages', tag: 'sessions', access: 'publish', summary: 'Send data to one session',
    body: ref('Data'), requestExample: { data: { note: 'hi' } }, response: object({ sessions: { const: 1 } }, ['sessions']), example: { sessions: 1 },
    errors: ['bad_request', 'not_found'],
  },
  {
    method: 'POST', path: '/api/sessions/:id/replies', tag: 'sessions', access: 'publish', summary: 'A backend\'s late answer to a client message',
    body: {
      oneOf: [
        object({ id: { type: ['string', 'number'] }, data: anyJson }, ['id', 'data']),
        object({ id: { type: ['string', 'number'] }, error: object({ code: { type: 'string', enum: errorCodes }, message: str() }, ['code', 'message']) }, ['id', 'error']),
      ],
    },
    requestExample: { id: 7, data: { ok: true } }, response: object({ sessions: { const: 1 } }, ['sessions']), example: { sessions: 1 },
    errors: ['bad_request', 'not_found'],
  },
  { method: 'GET', path: '/api/users/:id/sessions', tag: 'users', access: 'admin', summary: 'A user\'s sessions on every node', response: object({ user: str(), sessions: list(ref('Session')) }, ['user', 'sessions']), example: { user: 'alice', sessions: [session] } },
  {
    method: 'POST', path: '/api/users/:id/disconnect', tag: 'users', access: 'admin', summary: 'Disconnect every session of a user',
    query: { reason: { type: 'string', maxLength: 120 } }, body: ref('Reason'), bodyOptional: true, requestExample: { reason: 'account closed' },
    response: ref('SessionCount'), example: { sessions: 2 }, errors: ['bad_request'],
  },
  {
    method: 'POST', path: '/api/users/:id/messages', tag: 'users', access: 'publish', summary: 'Send data to every session of a user',
    body: ref('Data'), requestExample: { data: { note: 'hi' } }, response: ref('SessionCount'), example: { sessions: 2 }, errors: ['bad_request'],
  },
  ...(['subscribe', 'unsubscribe'] as const).map((kind): ApiOperation => ({
    method: 'POST', path: `/api/users/:id/${kind}`, tag: 'users', access: 'admin', summary: `${kind === 'subscribe' ? 'Subscribe' : 'Unsubscribe'} every session of a user ${kind === 'subscribe' ? 'to' : 'from'} a channel`,
    body: ref('Channel'), requestExample: { channel: 'news' }, response: ref('SessionCount'), example: { sessions: 2 }, errors: ['bad_request', 'not_found'],
  })),
  // Node, routes, revocations
  {
    method: 'GET', path: '/api/info', tag: 'node', access: 'admin', summary: 'This node: broker, uptime, state and live counts',
    response: object(
      { node: str(), version: str('the Switchboard version'), broker: str(), brokerConnected: schemas.bool, uptimeSeconds: int(), sessions: int(), subscriptions: int(), channels: int(), state: { type: 'string', enum: ['running', 'draining', 'stopped'] }, ready: schemas.bool },
      ['node', 'version', 'broker', 'brokerConnected', 'uptimeSeconds', 'sessions', 'subscriptions', 'channels', 'state', 'ready'],
    ),
    example: { node: '4f1c2a9b7e3d', version: '0.1.0', broker: 'memory', brokerConnected: true, uptimeSeconds: 12, sessions: 2, subscriptions: 3, channels: 2, state: 'running', ready: true },
  },
  { method: 'GET', path: '/api/nodes', tag: 'node', access: 'admin', summary: 'The nodes of the cluster as this node sees them', response: object({ nodes: list({ type: 'object' }) }, ['nodes']), example: { nodes: [{ id: '4f1c2a9b7e3d', state: 'running', sessions: 2 }] } },
  {
    method: 'GET', path: '/api/routes', tag: 'routing', access: 'admin', summary: 'Client message routes and their backends\' breakers',
    response: object(
      { node: str(), routes: list({ type: 'object' }), backends: list(object({ name: str(), breaker: str(), health: { type: 'string', enum: ['healthy', 'recovering', 'failing'] } }, ['name', 'breaker', 'health'])) },
      ['node', 'routes', 'backends'],
    ),
    example: {
      node: '4f1c2a9b7e3d',
      routes: [{ name: 'orders', match: 'key orders', target: 'backend orders', durable: true, queue: { depth: 2, deadLetters: 1 } }],
      backends: [{ name: 'orders', breaker: 'closed', health: 'healthy' }],
    },
  },
  {
    method: 'GET', path: '/api/routes/:name/dead-letters', tag: 'routing', access: 'admin', summary: 'Dead letters of a durable route',
    query: { limit: { type: 'string', pattern: '^\\d+$', description: '1 to 1000, default 100' }, from: name('continue from this position') },
    response: object({ route: str(), deadLetters: list({ type: 'object' }) }, ['route', 'deadLetters']), example: { route: 'orders', deadLetters: [] },
    errors: ['bad_request', 'not_found'],
  },
  {
    method: 'POST', path: '/api/routes/:name/dead-letters/replay', tag: 'routing', access: 'admin', summary: 'Put dead letters back on a durable route',
    body: object({ ids: list(str()) }), bodyOptional: true, requestExample: { ids: ['9b1e2c4d'] },
    response: object({ route: str(), replayed: int(), duplicates: int() }, ['route']), example: { route: 'orders', replayed: 1, duplicates: 0 },
    errors: ['bad_request', 'not_found'],
  },
  {
    method: 'POST', path: '/api/revocations', tag: 'auth', access: 'admin', summary: 'Refuse a token (jti) or a user\'s tokens on every node',
    body: { ...object({ jti: { type: 'string', minLength: 1 }, user: { type: 'string', minLength: 1 }, expiresIn: { type: 'integer', minimum: 1, maximum: 31536000 } }, ['expiresIn']), anyOf: [{ required: ['jti'] }, { required: ['user'] }] },
    requestExample: { user: 'mallory', expiresIn: 3600 },
    response: object({ revoked: ref('Revocation') }, ['revoked']), example: { revoked: { user: 'mallory', expiresAt: '2026-12-04T07:00:00.000Z', issuedBefore: '2026-12-04T06:00:00.000Z' } },
    errors: ['bad_request', 'unavailable'],
  },
  {
    method: 'GET', path: '/api/openapi.json', tag: 'node', access: 'none', summary: 'This description of the API (served without a key: it holds no secret)',
    response: object({ openapi: str(), paths: { type: 'object' } }, ['openapi', 'paths']), example: { openapi: '3.1.0', info: { title: 'Switchboard server API', version: '0.1.0' }, paths: {} },
  },
  // Service registry (gateway)
  { method: 'GET', path: '/api/services', tag: 'services', access: 'admin', when: 'gateway', summary: 'Services of the gateway and their instances', response: object({ services: list(ref('Service')) }, ['services']), example: { services: [{ name: 'orders', down: false, instances: [instance] }] } },
  {
    method: 'GET', path: '/api/services/events', tag: 'services', access: 'admin', when: 'gateway', summary: 'A snapshot, then registry events as they happen (one JSON object a line)',
    contentType: 'application/x-ndjson', response: object({ type: str(), time: int() }, ['type']), example: { type: 'snapshot', services: [], time: 1796364000000 },
  },
  { method: 'GET', path: '/api/services/:name', tag: 'services', access: 'admin', when: 'gateway', summary: 'One service', response: ref('Service'), example: { name: 'orders', down: false, instances: [instance] }, errors: ['not_found'] },
  {
    method: 'POST', path: '/api/services/:name/instances', tag: 'services', access: 'admin', when: 'gateway', summary: 'Register an instance (201) or update it (200)',
    body: object({ url: str(), id: str(), weight: { type: 'number' }, metadata: { type: 'object' }, check: { type: 'object' }, ttl: { type: 'integer', minimum: 0 } }, ['url']),
    requestExample: { url: 'http://10.0.0.9:8080', id: 'orders-1', ttl: 30000 },
    status: 201, response: object({ created: schemas.bool, instance: ref('ServiceInstance') }, ['created', 'instance']), example: { created: true, instance },
    errors: ['bad_request', 'forbidden_target', 'unavailable'],
  },
  { method: 'PUT', path: '/api/services/:name/instances/:id/heartbeat', tag: 'services', access: 'admin', when: 'gateway', summary: 'Keep an instance with a ttl registered', response: object({ instance: ref('ServiceInstance') }, ['instance']), example: { instance }, errors: ['not_found', 'unavailable'] },
  { method: 'DELETE', path: '/api/services/:name/instances/:id', tag: 'services', access: 'admin', when: 'gateway', summary: 'Deregister an instance', response: object({ removed: { const: true } }, ['removed']), example: { removed: true }, errors: ['not_found', 'unavailable'] },
  // Topics: applications
  {
    method: 'POST', path: '/api/topics/applications', tag: 'topics', access: 'admin', summary: 'Create an application; the answer holds its first key, shown once',
    body: object({ id: str(), quotas: { type: 'object' } }, ['id']), requestExample: { id: 'shop' },
    status: 201, response: object({ application: ref('Application'), key: str() }, ['application', 'key']), example: { application, key: 'sbk_example' },
    errors: ['bad_request', 'limit_exceeded'],
  },
  { method: 'GET', path: '/api/topics/applications', tag: 'topics', access: 'admin', summary: 'Applications', response: object({ applications: list(ref('Application')) }, ['applications']), example: { applications: [application] } },
  { method: 'GET', path: '/api/topics/applications/:app', tag: 'topics', access: 'application', scopes: ['admin'], summary: 'One application', response: ref('Application'), example: application, errors: ['not_found'] },
  { method: 'PATCH', path: '/api/topics/applications/:app', tag: 'topics', access: 'admin', summary: 'Change an application\'s quotas', body: object({ quotas: { type: 'object' } }), requestExample: { quotas: { publishPerSecond: 100 } }, response: ref('Application'), example: application, errors: ['bad_request', 'not_found'] },
  { method: 'DELETE', path: '/api/topics/applications/:app', tag: 'topics', access: 'admin', summary: 'Delete an application, its topics and subscriptions', ...empty, errors: ['not_found'] },
  {
    method: 'POST', path: '/api/topics/applications/:app/keys', tag: 'topics', access: 'application', scopes: ['admin'], summary: 'Add a key with some scopes; shown once',
    body: object({ scopes: { ...list({ type: 'string', enum: ['admin', 'publish', 'subscribe'] }), minItems: 1 } }, ['scopes']), requestExample: { scopes: ['publish'] },
    status: 201, response: object({ id: str(), key: str(), scopes: list(str()), createdAt: schemas.time }, ['id', 'key', 'scopes', 'createdAt']),
    example: { id: 'k2', key: 'sbk_example', scopes: ['publish'], createdAt: '2026-12-04T06:00:00.000Z' }, errors: ['bad_request', 'not_found'],
  },
  { method: 'DELETE', path: '/api/topics/applications/:app/keys/:key', tag: 'topics', access: 'application', scopes: ['admin'], summary: 'Revoke a key', ...empty, errors: ['not_found'] },
  // Topics
  { method: 'GET', path: '/api/topics/:app/topics', tag: 'topics', access: 'application', scopes: ['admin', 'publish'], summary: 'Topics of an application', response: object({ topics: list(ref('Topic')) }, ['topics']), example: { topics: [topic] }, errors: ['not_found'] },
  {
    method: 'POST', path: '/api/topics/:app/topics', tag: 'topics', access: 'application', scopes: ['admin'], summary: 'Create a topic',
    body: object({ name: str(), retentionMs: { type: 'number' }, retentionBytes: { type: 'number' }, partitions: { type: 'number' } }, ['name']), requestExample: { name: 'orders', retentionMs: 604800000 },
    status: 201, response: ref('Topic'), example: topic, errors: ['bad_request', 'not_found', 'limit_exceeded'],
  },
  { method: 'GET', path: '/api/topics/:app/topics/:topic', tag: 'topics', access: 'application', scopes: ['admin', 'publish'], summary: 'A topic with its stats and counts', response: ref('Topic'), example: { ...topic, stats: {}, counts: {} }, errors: ['not_found'] },
  { method: 'PATCH', path: '/api/topics/:app/topics/:topic', tag: 'topics', access: 'application', scopes: ['admin'], summary: 'Change a topic\'s retention', body: object({ retentionMs: { type: 'number' }, retentionBytes: { type: 'number' } }), requestExample: { retentionMs: 86400000 }, response: ref('Topic'), example: topic, errors: ['bad_request', 'not_found'] },
  { method: 'DELETE', path: '/api/topics/:app/topics/:topic', tag: 'topics', access: 'application', scopes: ['admin'], summary: 'Delete a topic', ...empty, errors: ['not_found'] },
  { method: 'PUT', path: '/api/topics/:app/topics/:topic/grants/:grantee', tag: 'topics', access: 'application', scopes: ['admin'], summary: 'Let another application subscribe to a topic', response: ref('Topic'), example: { ...topic, grants: ['billing'] }, errors: ['not_found'] },
  { method: 'DELETE', path: '/api/topics/:app/topics/:topic/grants/:grantee', tag: 'topics', access: 'application', scopes: ['admin'], summary: 'Withdraw a grant', response: ref('Topic'), example: topic, errors: ['not_found'] },
  { method: 'GET', path: '/api/topics/:app/topics/:topic/messages', tag: 'topics', access: 'application', scopes: ['admin', 'subscribe'], summary: 'Read a topic\'s retained messages', query: paged, response: ref('TopicMessages'), example: { messages: [message] }, ...topicRead },
  {
    method: 'POST', path: '/api/topics/:app/topics/:topic/publish', tag: 'topics', access: 'application', scopes: ['publish'], summary: 'Publish a message, or a batch as {"messages": [...]}',
    body: { oneOf: [ref('NewTopicMessage'), object({ messages: { ...list(ref('NewTopicMessage')), minItems: 1 } }, ['messages'])] },
    requestExample: { data: { order: 42 }, attributes: { kind: 'created' }, idempotencyKey: 'order-42-created' },
    response: { oneOf: [ref('TopicPublishResult'), object({ results: list({ oneOf: [ref('TopicPublishResult'), object({ error: ref('ItemError') }, ['error'])] }) }, ['results'])] },
    example: { id: message.id, position: '1-0', duplicate: false },
    errors: ['bad_request', 'not_found', 'too_large', 'rate_limited', 'limit_exceeded', 'unavailable'],
  },
  // Topics: subscriptions
  { method: 'GET', path: '/api/topics/:app/subscriptions', tag: 'topics', access: 'application', scopes: ['admin', 'subscribe'], summary: 'Subscriptions of an application', response: object({ subscriptions: list(ref('Subscription')) }, ['subscriptions']), example: { subscriptions: [subscription] }, errors: ['not_found'] },
  {
    method: 'POST', path: '/api/topics/:app/subscriptions', tag: 'topics', access: 'application', scopes: ['admin'], summary: 'Create a pull or push subscription',
    body: { ...ref('SubscriptionOptions'), required: ['name', 'topic'] }, requestExample: { name: 'billing', topic: 'orders', ackDeadlineMs: 30000 },
    status: 201, response: ref('Subscription'), example: subscription, errors: ['bad_request', 'not_found', 'forbidden_target', 'limit_exceeded'],
  },
  { method: 'GET', path: '/api/topics/:app/subscriptions/:sub', tag: 'topics', access: 'application', scopes: ['admin', 'subscribe'], summary: 'A subscription with its stats and counts', response: ref('Subscription'), example: { ...subscription, stats: {}, counts: {} }, errors: ['not_found'] },
  { method: 'PATCH', path: '/api/topics/:app/subscriptions/:sub', tag: 'topics', access: 'application', scopes: ['admin'], summary: 'Change a subscription', body: ref('SubscriptionOptions'), requestExample: { ackDeadlineMs: 60000 }, response: ref('Subscription'), example: subscription, errors: ['bad_request', 'not_found', 'forbidden_target'] },
  { method: 'DELETE', path: '/api/topics/:app/subscriptions/:sub', tag: 'topics', access: 'application', scopes: ['admin'], summary: 'Delete a subscription', ...empty, errors: ['not_found'] },
  {
    method: 'POST', path: '/api/topics/:app/subscriptions/:sub/pull', tag: 'topics', access: 'application', scopes: ['subscribe'], summary: 'Receive messages, waiting up to waitMs for some',
    body: object({ maxMessages: { type: 'number' }, waitMs: { type: 'number' } }), bodyOptional: true, requestExample: { maxMessages: 10, waitMs: 5000 },
    response: object({ messages: list(object({ ackId: str(), attempt: int(), message: ref('TopicMessage') }, ['ackId', 'attempt', 'message'])) }, ['messages']),
    example: { messages: [{ ackId: 'a1', attempt: 1, message }] }, errors: ['bad_request', 'not_found', 'rate_limited'],
  },
  ...(['ack', 'nack', 'modify-deadline'] as const).map((path): ApiOperation => ({
    method: 'POST', path: `/api/topics/:app/subscriptions/:sub/${path}`, tag: 'topics', access: 'application', scopes: ['subscribe'],
    summary: { ack: 'Acknowledge messages', nack: 'Give messages back, after delayMs', 'modify-deadline': 'Change the ack deadline of messages' }[path],
    body: {
      ack: ref('AckIds'),
      nack: { ...object({ ackIds: list(str()), delayMs: { type: 'number' } }, ['ackIds']) },
      'modify-deadline': object({ ackIds: list(str()), deadlineMs: { type: 'number' } }, ['ackIds', 'deadlineMs']),
    }[path],
    requestExample: { ack: { ackIds: ['a1'] }, nack: { ackIds: ['a1'], delayMs: 1000 }, 'modify-deadline': { ackIds: ['a1'], deadlineMs: 60000 } }[path],
    response: ref('AckResults'), example: { results: [{ ackId: 'a1', ok: true }] }, errors: ['bad_request', 'not_found'],
  })),
  {
    method: 'POST', path: '/api/topics/:app/subscriptions/:sub/seek', tag: 'topics', access: 'application', scopes: ['subscribe', 'admin'], summary: 'Move a subscription to a time or a position',
    body: { oneOf: [object({ time: { type: ['string', 'number'] } }, ['time']), object({ position: str() }, ['position'])] }, requestExample: { time: '2026-12-04T05:00:00.000Z' },
    response: object({ ok: { const: true } }, ['ok']), example: { ok: true }, errors: ['bad_request', 'not_found'],
  },
  { method: 'GET', path: '/api/topics/:app/subscriptions/:sub/dead-letters', tag: 'topics', access: 'application', scopes: ['admin', 'subscribe'], summary: 'Messages that ran out of delivery attempts', query: paged, response: ref('TopicMessages'), example: { messages: [message] }, ...topicRead },
  {
    method: 'POST', path: '/api/topics/:app/subscriptions/:sub/dead-letters/replay', tag: 'topics', access: 'application', scopes: ['admin'], summary: 'Publish dead letters again on the subscription\'s topic',
    body: object({ ids: list(str()) }), bodyOptional: true, requestExample: { ids: [message.id] },
    response: object({ replayed: int(), duplicates: int() }, ['replayed', 'duplicates']), example: { replayed: 1, duplicates: 0 }, ...topicRead,
  },
  // Admin console (admin.enabled)
  {
    method: 'GET', path: '/api/admin/whoami', tag: 'admin', access: 'admin', when: 'admin', summary: 'The console role of the caller\'s credential (read-only keys and role JWTs too)',
    response: object({ role: { type: 'string', enum: ['admin', 'read-only'] }, via: { type: 'string', enum: ['key', 'jwt', 'insecure'] }, subject: str() }, ['role', 'via']),
    example: { role: 'read-only', via: 'key' },
  },
  {
    method: 'GET', path: '/api/admin/stats', tag: 'admin', access: 'admin', when: 'admin', summary: 'Samples of every node\'s own counters over the last minutes',
    query: { minutes: { type: 'string', pattern: '^[0-9.]+$', description: 'up to admin.historyMinutes (the default)' } },
    response: object({ nodes: list(object({ node: str(), interval: int(), samples: list({ type: 'object' }) }, ['node', 'interval', 'samples'])) }, ['nodes']),
    example: { nodes: [{ node: '4f1c2a9b7e3d', interval: 5000, samples: [nodeSample] }] },
    errors: ['bad_request'],
  },
  {
    method: 'GET', path: '/api/admin/topics', tag: 'admin', access: 'admin', when: 'admin', summary: 'Applications, topics and subscriptions with backlog, ack rate and dead letters',
    response: object({ applications: list({ type: 'object' }) }, ['applications']),
    example: { applications: [{ id: 'shop', topics: [{ name: 'orders', messages: 3, subscriptions: [{ application: 'shop', name: 'billing', backlog: 1, oldestUnackedAgeMs: 1200, ackedPerSecond: 0.5, deadLetterTopic: 'orders-dead', deadLetters: 1 }] }] }] },
  },
  {
    method: 'GET', path: '/api/admin/gateway', tag: 'admin', access: 'admin', when: 'admin', summary: 'Gateway services, instance states with reasons, routes and their rates',
    response: object({ services: list({ type: 'object' }), routes: list({ type: 'object' }) }, ['services', 'routes']),
    example: {
      services: [{ name: 'orders', down: null, instances: [{ id: 'orders-1', url: 'http://10.0.0.9:8080', state: 'ejected', reason: 'ejected after consecutive failures (5xx answers or connection errors)', outstanding: 0, ejectedUntil: 1796364030000 }] }],
      routes: [{ name: 'orders', service: 'orders', host: '', path: '/orders', methods: [], requestsPerSecond: 12.5, errorsPerSecond: 0.2 }],
    },
    errors: ['not_found'],
  },
];
