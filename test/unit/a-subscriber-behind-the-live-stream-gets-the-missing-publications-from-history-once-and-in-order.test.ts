import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { HistoryQuery, HistoryResult, Publication } from '../../src/brokers/broker.js';
import { MemoryBroker } from '../../src/brokers/memory.js';
import { Hub } from '../../src/hub/hub.js';
import { Stats } from '../../src/observability/metrics.js';
import type { Session } from '../../src/sessions/session.js';
import { linesOf, nextTurn, recordingSink, sessionOn } from '../helpers/sessions.js';

const history = { size: 100, ttl: 0 };

/** A broker whose history answers arrive only when the test lets them: what it read is what history held when asked. */
class HeldBackHistory extends MemoryBroker {
  answer: Promise<void> = Promise.resolve();

  override async history(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    const result = await super.history(channel, query);
    await this.answer;
    return result;
  }
}

/** A node whose live stream the test feeds by hand, so publications can go missing; history has them all. */
async function nodeWithSubscriber() {
  const broker = new HeldBackHistory();
  await broker.connect();
  const lost: Session[] = [];
  const hub = new Hub<Session>(broker, new Stats(), (_channel, sessions) => lost.push(...sessions));
  const sink = recordingSink();
  const session = sessionOn(sink);
  await hub.subscribe(session, 'feed', { history: true }, () => {});
  const publish = async (data: number): Promise<Publication> => {
    const position = await broker.publish({ channel: 'feed', data, time: Date.now() }, { history });
    return { channel: 'feed', data, time: Date.now(), ...position };
  };
  return { broker, hub, sink, lost, publish };
}

/** Waits until the hub has read history and delivered, then answers the data the subscriber got. */
async function received(sink: ReturnType<typeof recordingSink>): Promise<unknown[]> {
  for (let turn = 0; turn < 5; turn++) await nextTurn();
  return linesOf(sink).map((line) => line.data);
}

it('a publication past a gap waits until the missing ones are read from history, and all go out once in offset order', async () => {
  const { hub, sink, lost, publish } = await nodeWithSubscriber();
  hub.dispatch(await publish(1));
  const missed = [await publish(2), await publish(3)];
  const fourth = await publish(4);
  hub.dispatch(fourth);
  // The missed ones arrive late, and the fourth again: none of them is sent twice.
  for (const pub of [...missed, fourth]) hub.dispatch(pub);
  hub.dispatch(await publish(5));
  assert.deepEqual(await received(sink), [1, 2, 3, 4, 5]);
  assert.deepEqual(lost, [], 'history held the gap: nobody is asked to reconnect');
});

it('live publications that arrive while the gap is read are held and follow it, each once', async () => {
  const { broker, hub, sink, publish } = await nodeWithSubscriber();
  hub.dispatch(await publish(1));
  await publish(2);
  const third = await publish(3);
  let answer!: () => void;
  broker.answer = new Promise((resolve) => (answer = resolve));
  hub.dispatch(third);
  // History was read up to the third; these arrive before its answer and wait behind the gap.
  const later = [await publish(4), await publish(5)];
  for (const pub of [later[0]!, third, later[1]!]) hub.dispatch(pub);
  assert.deepEqual(await received(sink), [1], 'nothing past the gap goes out before it is filled');
  answer();
  assert.deepEqual(await received(sink), [1, 2, 3, 4, 5]);
});

it('a gap history no longer holds sends the subscribers away to recover on their own, without a partial fill', async () => {
  const { broker, hub, sink, lost, publish } = await nodeWithSubscriber();
  hub.dispatch(await publish(1));
  for (let data = 2; data <= 150; data++) await publish(data);
  hub.dispatch(await publish(151));
  assert.deepEqual(await received(sink), [1]);
  assert.equal(lost.length, 1);
  await broker.close();
});
