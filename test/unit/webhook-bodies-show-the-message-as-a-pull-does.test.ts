import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadLetterAttributes } from '../../src/topics/dead-letters.js';
import { webhookBody } from '../../src/topics/webhook-delivery.js';
import type { ReceivedMessage } from '../../src/topics/store.js';
import { publicReceived } from '../../src/topics/views.js';

const publishTime = Date.parse('2026-01-01T00:00:00Z');

describe('a webhook body', () => {
  it('carries a delayed, ordered dead-letter copy as a pull shows it: deliverAt, orderingKey and origins as application/name', () => {
    const received: ReceivedMessage = {
      ackId: '1.7.2',
      attempt: 2,
      message: {
        id: 'm-1',
        position: '7',
        data: { order: 7 },
        attributes: { kind: 'paid', [deadLetterAttributes.originalTopic]: 'shop-orders', [deadLetterAttributes.subscription]: 'shop-billing' },
        orderingKey: 'customer-42',
        publishTime,
        deliverAt: publishTime + 30_000,
      },
    };
    const body: { message: unknown } = JSON.parse(webhookBody('shop/audit', received));
    const { ackId, ...pulled } = publicReceived(received);
    assert.equal(ackId, '1.7.2');
    assert.deepEqual(body, { subscription: 'shop/audit', ...pulled });
    assert.deepEqual(body.message, {
      id: 'm-1',
      position: '7',
      data: { order: 7 },
      attributes: { kind: 'paid', [deadLetterAttributes.originalTopic]: 'shop/orders', [deadLetterAttributes.subscription]: 'shop/billing' },
      orderingKey: 'customer-42',
      publishTime: '2026-01-01T00:00:00.000Z',
      deliverAt: '2026-01-01T00:00:30.000Z',
    });
  });

  it('has no ack id, and no orderingKey or deliverAt for a message published without them', () => {
    const body = JSON.parse(webhookBody('shop/audit', { ackId: '1.1.1', attempt: 1, message: { id: 'm-2', position: '1', data: 'plain', attributes: {}, publishTime } }));
    assert.deepEqual(body, {
      subscription: 'shop/audit',
      attempt: 1,
      message: { id: 'm-2', position: '1', data: 'plain', attributes: {}, publishTime: '2026-01-01T00:00:00.000Z' },
    });
  });
});
