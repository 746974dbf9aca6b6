import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBridgeSources, type BridgeSources, type RecordWriters } from '../../helpers/bridge-sources.js';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { requireTool } from '../../helpers/tools.js';

const attributes = { specversion: '1.0', id: 'evt-1', source: '/shop/orders', type: 'com.example.order.shipped' };

describe('bridges understand CloudEvents in structured and binary mode', { skip: requireTool('kcat', 'nats-server', 'redis-server') }, () => {
  let sources: BridgeSources;
  let writers: RecordWriters;
  let t: TestNode;
  let client: WsClient;

  before(async () => {
    sources = await startBridgeSources();
    ({ writers } = sources);
    t = await startNode({
      'channels.namespaces': { orders: {} },
      'bridges.startAt': 'earliest',
      ...sources.settings,
      'bridges.definitions': [
        // The channel comes from the CloudEvent's subject attribute, whichever mode the event came in.
        { name: 'kafka-events', source: 'kafka', topic: 'events', target: { type: 'channel', field: 'subject', prefix: 'orders:' } },
        { name: 'kafka-data', source: 'kafka', topic: 'event-data', payload: 'data', target: { type: 'channel', field: 'subject', prefix: 'orders:' } },
        { name: 'nats-events', source: 'nats', subject: 'events', target: { type: 'channel', header: 'ce-subject', prefix: 'orders:' } },
        { name: 'redis-events', source: 'redis', stream: 'events', target: { type: 'channel', field: 'subject', prefix: 'orders:' } },
      ],
    });
    client = await connectWs(`${t.wsUrl}/ws?channels=orders:A-1`);
    await client.next((f) => f.type === 'subscribed');
  });

  after(async () => {
    client?.close();
    await t?.stop();
    await sources?.stop();
  });

  const delivered = async () => (await client.next((f) => f.type === 'message', 10_000)).data;

  it('delivers a structured-mode event from Kafka as the event itself', async () => {
    const event = { ...attributes, subject: 'A-1', datacontenttype: 'application/json', data: { carrier: 'DHL' } };
    await writers.kafka('events', JSON.stringify(event), { 'content-type': 'application/cloudevents+json; charset=utf-8' });
    assert.deepEqual(await delivered(), event);
  });

  it('recognises a structured-mode event without a content type by its specversion', async () => {
    const event = { ...attributes, id: 'evt-2', subject: 'A-1', data: { step: 2 } };
    await writers.kafka('events', JSON.stringify(event));
    assert.deepEqual(await delivered(), event);
  });

  it('turns a binary-mode event from Kafka (ce_ headers) into its structured form', async () => {
    await writers.kafka('events', JSON.stringify({ carrier: 'UPS' }), {
      ce_specversion: '1.0',
      ce_id: 'evt-3',
      ce_source: '/shop/orders',
      ce_type: 'com.example.order.shipped',
      ce_subject: 'A-1',
      'content-type': 'application/json',
    });
    assert.deepEqual(await delivered(), { ...attributes, id: 'evt-3', subject: 'A-1', datacontenttype: 'application/json', data: { carrier: 'UPS' } });
  });

  it('delivers only the data of an event when the bridge asks for payload data, in both modes', async () => {
    await writers.kafka('event-data', JSON.stringify({ ...attributes, id: 'evt-4', subject: 'A-1', data: { only: 'structured data' } }));
    assert.deepEqual(await delivered(), { only: 'structured data' });
    await writers.kafka('event-data', 'plain text body', { ce_specversion: '1.0', ce_id: 'evt-5', ce_source: '/s', ce_type: 't', ce_subject: 'A-1', 'content-type': 'text/plain' });
    assert.equal(await delivered(), 'plain text body');
  });

  it('reads a binary-mode event from NATS headers (ce- prefix) and takes the channel from a header', async () => {
    await writers.nats('events', JSON.stringify({ carrier: 'FedEx' }), {
      'ce-specversion': '1.0',
      'ce-id': 'evt-6',
      'ce-source': '/shop/orders',
      'ce-type': 'com.example.order.shipped',
      'ce-subject': 'A-1',
    });
    assert.deepEqual(await delivered(), { ...attributes, id: 'evt-6', subject: 'A-1', data: { carrier: 'FedEx' } });
  });

  it('reads a binary-mode event from the fields of a Redis stream entry', async () => {
    await writers.redis('events', {
      'ce-specversion': '1.0',
      'ce-id': 'evt-7',
      'ce-source': '/shop/orders',
      'ce-type': 'com.example.order.shipped',
      'ce-subject': 'A-1',
      data: JSON.stringify({ carrier: 'Post' }),
    });
    assert.deepEqual(await delivered(), { ...attributes, id: 'evt-7', subject: 'A-1', data: { carrier: 'Post' } });
  });
});
