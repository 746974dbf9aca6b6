import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PublishResult, Revocation, ServiceInstance, Session, TopicMessage, TopicPublishResult } from '../../src/api-client/index.js';
import { components } from '../../src/api/openapi-schemas.js';

/** Every field of a type, and whether it must be there: the compiler checks this against the type. */
type Shape<T> = { [K in keyof T]-?: undefined extends T[K] ? 'optional' : 'required' };

const shapes = {
  PublishResult: { channel: 'required', subscribers: 'required', offset: 'optional', epoch: 'optional' } satisfies Shape<PublishResult>,
  Session: {
    id: 'required',
    user: 'required',
    remote: 'optional',
    connectedAt: 'optional',
    channels: 'required',
    node: 'required',
    transport: 'required',
    context: 'optional',
    messagesSent: 'optional',
    bytesSent: 'optional',
    messagesReceived: 'optional',
    bytesReceived: 'optional',
  } satisfies Shape<Session>,
  Revocation: { jti: 'optional', user: 'optional', expiresAt: 'required', issuedBefore: 'optional' } satisfies Shape<Revocation>,
  TopicMessage: {
    id: 'required',
    position: 'required',
    data: 'optional',
    attributes: 'optional',
    orderingKey: 'optional',
    publishTime: 'required',
    deliverAt: 'optional',
  } satisfies Shape<TopicMessage>,
  TopicPublishResult: { id: 'required', position: 'required', duplicate: 'required' } satisfies Shape<TopicPublishResult>,
  ServiceInstance: {
    id: 'required',
    service: 'optional',
    url: 'required',
    weight: 'optional',
    metadata: 'optional',
    ttl: 'optional',
    state: 'optional',
    outstanding: 'optional',
    ejectedUntil: 'optional',
  } satisfies Shape<ServiceInstance>,
};

describe('the API client types', () => {
  for (const [name, shape] of Object.entries(shapes)) {
    it(`${name} has the fields of its OpenAPI schema, required where the schema requires them`, () => {
      const schema = components[name] as { properties: Record<string, unknown>; required?: string[] };
      assert.deepEqual(Object.keys(shape).sort(), Object.keys(schema.properties).sort());
      const required = Object.entries(shape)
        .filter(([, need]) => need === 'required')
        .map(([field]) => field);
      assert.deepEqual(required.sort(), [...(schema.required ?? [])].sort());
    });
  }
});
