import type { NewTopicMessage, TopicMessage, TopicStore } from './store.js';

/**
 * Appends retained messages of a dead-letter topic back onto a topic: all of them that `chosen`
 * accepts, walked page by page. Each is appended with the idempotency key `replay:<id>`, so a
 * repeated replay within the store's idempotency window does not deliver it twice.
 */
export async function replayDeadLetters(
  store: Pick<TopicStore, 'read' | 'append'>,
  deadTopic: string,
  topic: string,
  chosen: (letter: TopicMessage) => boolean,
  messageOf: (letter: TopicMessage) => Omit<NewTopicMessage, 'idempotencyKey'>,
): Promise<{ replayed: number; duplicates: number }> {
  let replayed = 0;
  let duplicates = 0;
  let from: string | undefined;
  for (;;) {
    const page = await store.read(deadTopic, { limit: 500, ...(from !== undefined && { from: { position: from } }) });
    const fresh = from === undefined ? page : page.filter((m) => m.position !== from);
    if (fresh.length === 0) break;
    const letters = fresh.filter(chosen);
    if (letters.length > 0) {
      const results = await store.append(
        topic,
        letters.map((letter) => ({ ...messageOf(letter), idempotencyKey: `replay:${letter.id}` })),
      );
      for (const result of results) {
        if (result.duplicate) duplicates += 1;
        else replayed += 1;
      }
    }
    from = fresh.at(-1)!.position;
  }
  return { replayed, duplicates };
}
