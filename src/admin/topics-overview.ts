import type { TopicService } from '../topics/service.js';
import type { RateWindow } from './rates.js';

export interface SubscriptionOverview {
  application: string;
  name: string;
  /** Messages not yet acknowledged. */
  backlog: number;
  oldestUnackedAgeMs: number;
  /** Messages acknowledged per second over the last minute, on this node. */
  ackedPerSecond: number;
  deadLetterTopic: string | null;
  /** Messages retained in the dead-letter topic. */
  deadLetters: number;
}

export interface TopicOverview {
  name: string;
  /** Messages retained. */
  messages: number;
  subscriptions: SubscriptionOverview[];
}

export interface ApplicationOverview {
  id: string;
  topics: TopicOverview[];
}

export type TopicsSource = Pick<TopicService, 'applications' | 'listTopics' | 'listSubscriptions' | 'subscriptionStats' | 'topicStats'>;

/**
 * Every application with its topics, and under each topic the subscriptions that read it (of any
 * application) with their backlog and dead letters.
 */
export async function topicsOverview(topics: TopicsSource, acked: RateWindow): Promise<ApplicationOverview[]> {
  const applications = await topics.applications.list();
  const byTopic = new Map<string, SubscriptionOverview[]>();
  for (const app of applications) {
    for (const sub of await topics.listSubscriptions(app.id)) {
      const [stats, dead] = await Promise.all([topics.subscriptionStats(app.id, sub.name), sub.deadLetterTopic ? topics.topicStats(app.id, sub.deadLetterTopic) : undefined]);
      const key = `${sub.topic.application}/${sub.topic.name}`;
      const list = byTopic.get(key) ?? [];
      byTopic.set(key, list);
      list.push({
        application: app.id,
        name: sub.name,
        backlog: stats.unacked,
        oldestUnackedAgeMs: stats.oldestUnackedAgeMs,
        ackedPerSecond: acked.rate(`${app.id}/${sub.name}`),
        deadLetterTopic: sub.deadLetterTopic ?? null,
        deadLetters: dead?.messages ?? 0,
      });
    }
  }
  const overview: ApplicationOverview[] = [];
  for (const app of [...applications].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const records = await topics.listTopics(app.id);
    const list: TopicOverview[] = [];
    for (const topic of records) {
      const { messages } = await topics.topicStats(app.id, topic.name);
      list.push({ name: topic.name, messages, subscriptions: byTopic.get(`${app.id}/${topic.name}`) ?? [] });
    }
    overview.push({ id: app.id, topics: list });
  }
  return overview;
}
