/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of the server API's bodies and answers. They
 * describe what the handlers accept and answer, and the routes check their bodies against them
 * before the handler runs (body-schema.ts), but for publish batches, answered item by item. Error
 * messages are part of the API (docs/api.md).
 */
import { errorCodes } from '../protocol/errors.js';

export type Schema = Record<string, unknown>;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str = (description?: string): Schema => ({ type: 'string', ...(description && { description }) });
const int = (description?: string): Schema => ({ type: 'integer', ...(description && { description }) });
const bool: Schema = { type: 'boolean' };
const anyJson: Schema = { description: 'any JSON value' };
const time: Schema = { type: 'string', format: 'date-time' };
const list = (items: Schema): Schema => ({ type: 'array', items });
export const object = (properties: Record<string, Schema>, required: string[] = [], extra = true): Schema => ({
  type: 'object',
  properties,
  ...(required.length > 0 && { required }),
  ...(!extra && { additionalProperties: false }),
});

const errorBody = object({ code: { type: 'string', enum: errorCodes }, message: str() }, ['code', 'message']);

export const components: Record<string, Schema> = {
  Error: object({ error: errorBody }, ['error']),
  ItemError: errorBody,
  Publication: object({ channel: str('a channel name; its namespace must be configured'), data: anyJson }, ['channel', 'data']),
  PublishResult: object(
    {
      channel: str(),
      subscribers: int('sessions on the answering node subscribed to the channel'),
      offset: int('stream position, on channels with history'),
      epoch: str(),
    },
    ['channel', 'subscribers'],
  ),
  ItemResult: { oneOf: [ref('PublishResult'), object({ channel: anyJson, error: ref('ItemError') }, ['error'])] },
  Results: object({ results: list(ref('ItemResult')) }, ['results']),
  Session: object(
    {
      id: str(),
      user: str(),
      remote: str('the client address'),
      connectedAt: time,
      channels: list(str()),
      node: str(),
      transport: str(),
      context: { type: 'object' },
      messagesSent: int('frames queued to the client'),
      bytesSent: int('bytes queued to the client'),
      messagesReceived: int('text messages received from the client'),
      bytesReceived: int('characters of those messages'),
    },
    ['id', 'user', 'channels', 'node', 'transport'],
  ),
  Sessions: object({ sessions: list(ref('Session')) }, ['sessions']),
  SessionCount: object({ sessions: int('sessions the cluster view listed') }, ['sessions']),
  Reason: object({ reason: { type: 'string', maxLength: 120 } }),
  Disconnect: object({
    reason: { type: 'string', maxLength: 120 },
    code: { type: 'integer', minimum: 4000, maximum: 4999, description: 'close code: 4000-4499 the client reconnects, 4500-4999 it does not; 4000 when left out' },
  }),
  Data: object({ data: anyJson }, ['data']),
  Channel: object({ channel: str() }, ['channel']),
  Broadcast: object({ channels: { ...list(str()), minItems: 1 }, data: anyJson }, ['channels', 'data']),
  PushMessage: object({ channel: str(), message: anyJson }, ['channel', 'message']),
  RevocationRequest: {
    ...object(
      {
        jti: { type: 'string', minLength: 1, description: 'the token to refuse' },
        user: { type: 'string', minLength: 1, description: 'refuse every token of this user issued until now' },
        expiresIn: { type: 'integer', minimum: 1, maximum: 31536000, description: 'seconds to keep the revocation: as long as the tokens it refuses stay valid' },
      },
      ['expiresIn'],
    ),
    anyOf: [{ required: ['jti'] }, { required: ['user'] }],
  },
  Revocation: object({ jti: str(), user: str(), expiresAt: time, issuedBefore: time }, ['expiresAt']),
  TopicMessage: object(
    {
      id: str(),
      position: str(),
      data: anyJson,
      attributes: { type: 'object', additionalProperties: { type: 'string' } },
      orderingKey: str(),
      publishTime: time,
      deliverAt: time,
    },
    ['id', 'position', 'publishTime'],
  ),
  TopicMessages: object({ messages: list(ref('TopicMessage')) }, ['messages']),
  NewTopicMessage: object({
    data: anyJson,
    attributes: { type: 'object', additionalProperties: { type: 'string' } },
    orderingKey: str(),
    idempotencyKey: str('a message published again with the same key within topics.idempotencyWindow is a duplicate and is stored once'),
    deliverAt: { type: ['string', 'number'], description: 'ISO 8601 or ms since the epoch' },
    delayMs: { type: 'number' },
  }),
  TopicPublishResult: object({ id: str(), position: str(), duplicate: bool }, ['id', 'position', 'duplicate']),
  Topic: object(
    {
      application: str(),
      name: str(),
      retentionMs: { type: 'number' },
      retentionBytes: { type: 'number' },
      partitions: int(),
      grants: list(str()),
      createdAt: time,
    },
    ['application', 'name', 'createdAt'],
  ),
  Subscription: object(
    {
      application: str(),
      name: str(),
      topic: str('APPLICATION/TOPIC'),
      type: { type: 'string', enum: ['pull', 'push'] },
      ackDeadlineMs: { type: 'number' },
      maxDeliveryAttempts: int(),
      ordered: bool,
      deadLetterTopic: str(),
      push: object({ endpoint: str() }),
      createdAt: time,
    },
    ['application', 'name', 'topic', 'type', 'createdAt'],
  ),
  SubscriptionOptions: object({
    name: str(),
    topic: str('a topic of the application, or APPLICATION/TOPIC of a topic granted to it'),
    ackDeadlineMs: { type: 'number' },
    maxDeliveryAttempts: { type: 'number' },
    deadLetterTopic: str('a topic name; "" removes it'),
    ordered: bool,
    push: { anyOf: [{ type: 'null' }, object({ endpoint: str('https://...'), secret: str() }, ['endpoint', 'secret'], false)], description: 'null removes it' },
  }),
  AckIds: object({ ackIds: list(str()) }, ['ackIds']),
  AckResults: object({ results: list(object({ ackId: str(), ok: { const: true }, error: ref('ItemError') }, ['ackId'])) }, ['results']),
  Application: object({ id: str(), quotas: { type: 'object' }, keys: list({ type: 'object' }), createdAt: time }, ['id']),
  ServiceInstance: object(
    {
      id: str(),
      service: str(),
      url: str(),
      weight: { type: 'number' },
      metadata: { type: 'object' },
      ttl: int('ms; 0: kept until deregistered'),
      state: { type: 'string', enum: ['available', 'ejected', 'unhealthy', 'unknown'] },
      outstanding: int(),
      ejectedUntil: { type: ['integer', 'null'] },
    },
    ['id', 'url'],
  ),
  Service: object({ name: str(), down: bool, instances: list(ref('ServiceInstance')) }, ['name', 'instances']),
};

export const schemas = { str, int, bool, anyJson, time, list, object, ref };
