import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { backoffDelay } from '../backends/backoff.js';
import { SwitchboardError } from '../protocol/errors.js';
import { deadLetterAttributes, deadLetterCopy } from '../topics/dead-letters.js';
import type { ReceivedMessage, TopicStore } from '../topics/store.js';
import { replayDeadLetters } from '../topics/replay.js';
import { CallFailure } from './backend.js';
import type { BackendOptions, RouteOptions } from '../config/routing.js';
import type { RoutedMessage } from './message.js';
import type { RoutingMetrics } from './metrics.js';
import type { DurableSink, Router } from './router.js';

export interface DurableOptions {
  maxAttempts: number;
  initialBackoff: number;
  maxBackoff: number;
  /** Longest backend call; the ack deadline is set well beyond it, so a live node never loses its claim. */
  callTimeout: number;
  /**
   * How long (ms) and up to how many bytes a route's queue and its dead letters keep messages:
   * the queue's log keeps delivered messages too, until this trims them.
   */
  retention: { ms: number; bytes: number };
}

/** A durable message as stored: the backend chosen at accept time and the envelope. */
interface StoredMessage {
  backend: string;
  message: RoutedMessage;
}

/** The longest a backend call may take under these settings: the ack deadline of durable queues is based on it. */
export function longestCall(routing: { timeout: number; backends: Record<string, BackendOptions> }): number {
  return Math.max(routing.timeout, ...Object.values(routing.backends).map((b) => b.timeout));
}

/** Deliveries one node runs at once per durable route. */
const concurrency = 16;
/** How often a delivery loop looks again while its backend's probe call is out. */
const probePollMs = 100;
/** A backend that refuses the message itself (these 4xx) gets no retry: the message goes to the dead letters at once. */
const permanentCodes = new Set(['bad_request', 'unauthorized', 'forbidden', 'not_found', 'too_large', 'limit_exceeded']);

/** Store names for a route's queue and its dead letters: no `-`, so they never collide with topic API names (`app-topic`). */
function storeName(route: string, suffix: string): string {
  const readable = route.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 80);
  const hash = createHash('sha256').update(route).digest('hex').slice(0, 8);
  return `sbroute_${readable}_${hash}_${suffix}`;
}

interface RouteQueue {
  route: RouteOptions;
  topic: string;
  deadTopic: string;
  subscription: string;
  maxAttempts: number;
}

/**
 * Durable routes (hydrogen's JetStream stream): a client message is appended to the route's queue
 * in the topic store before the client is answered, then every node pulls from the queue and
 * calls the backend, at least once: acknowledged on success, given back with exponential backoff
 * and full jitter on failure, moved to the route's dead letters after the last attempt. The
 * envelope's message id is the same on every attempt, so backends can de-duplicate. A node that
 * dies mid-delivery loses nothing: the message is delivered again after its ack deadline.
 */
export class DurableDelivery implements DurableSink {
  private readonly queues = new Map<string, RouteQueue>();
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly store: TopicStore,
    private readonly router: Router,
    private readonly options: DurableOptions,
    private readonly metrics: RoutingMetrics,
    private readonly log: Logger,
  ) {
    for (const route of router.durableRoutes) {
      this.queues.set(route.name, {
        route,
        topic: storeName(route.name, 'queue'),
        deadTopic: storeName(route.name, 'dead'),
        subscription: storeName(route.name, 'delivery'),
        maxAttempts: route.maxAttempts || options.maxAttempts,
      });
    }
  }

  /** Creates the queues (idempotent, any node may do it) and starts delivering. */
  async start(): Promise<void> {
    const ackDeadlineMs = this.options.callTimeout * 3;
    for (const queue of this.queues.values()) {
      const retention = { retentionMs: this.options.retention.ms, retentionBytes: this.options.retention.bytes, partitions: 1 };
      await this.store.ensureTopic(queue.topic, retention);
      await this.store.ensureTopic(queue.deadTopic, retention);
      await this.store.ensureSubscription(queue.subscription, {
        topic: queue.topic,
        ackDeadlineMs,
        maxDeliveryAttempts: queue.maxAttempts,
        deadLetterTopic: queue.deadTopic,
        ordered: false,
      });
    }
    for (const queue of this.queues.values()) this.loops.push(this.deliverLoop(queue));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
  }

  /** Stores a message; resolves once the store confirmed the write. */
  async enqueue(route: RouteOptions, backend: string, message: RoutedMessage): Promise<void> {
    const queue = this.queue(route.name);
    const stored: StoredMessage = { backend, message };
    try {
      await this.store.append(queue.topic, [{ data: stored, attributes: { route: route.name } }]);
    } catch (err) {
      if (err instanceof SwitchboardError) throw err;
      throw new SwitchboardError('unavailable', 'the durable queue cannot be written; try again');
    }
  }

  /** Each durable route's messages waiting for delivery (or unacknowledged) and its dead letters retained. */
  async queueStats(): Promise<Map<string, { depth: number; deadLetters: number }>> {
    const stats = new Map<string, { depth: number; deadLetters: number }>();
    for (const [name, queue] of this.queues) {
      const [backlog, dead] = await Promise.all([this.store.subscriptionStats(queue.subscription), this.store.topicStats(queue.deadTopic)]);
      stats.set(name, { depth: backlog.unacked, deadLetters: dead.messages });
    }
    return stats;
  }

  /** The route's dead letters, oldest first. */
  async deadLetters(
    routeName: string,
    limit: number,
    from?: string,
  ): Promise<{ id: string; position: string; attempts: number; deadAt: number; backend: string; message: RoutedMessage }[]> {
    const queue = this.queue(routeName);
    const letters = await this.store.read(queue.deadTopic, { limit, ...(from !== undefined && { from: { position: from } }) });
    return letters.map((letter) => {
      const stored = letter.data as StoredMessage;
      return {
        id: letter.id,
        position: letter.position,
        attempts: Number(letter.attributes[deadLetterAttributes.attempts] ?? 0),
        deadAt: letter.publishTime,
        backend: stored.backend,
        message: stored.message,
      };
    });
  }

  /**
   * Puts dead letters back on the route's queue with fresh attempts (all retained ones, or those
   * with the given ids). A dead letter is replayed at most once per idempotency window, so a
   * repeated call does not deliver it twice.
   */
  async replay(routeName: string, ids?: string[]): Promise<{ replayed: number; duplicates: number }> {
    const queue = this.queue(routeName);
    const wanted = ids ? new Set(ids) : undefined;
    return replayDeadLetters(
      this.store,
      queue.deadTopic,
      queue.topic,
      (letter) => !wanted || wanted.has(letter.id),
      (letter) => ({
        data: letter.data,
        attributes: { route: routeName, replayOf: letter.id },
      }),
    );
  }

  private queue(routeName: string): RouteQueue {
    const queue = this.queues.get(routeName);
    if (!queue) throw new SwitchboardError('not_found', `route ${JSON.stringify(routeName)} is not a durable route`);
    return queue;
  }

  private async deliverLoop(queue: RouteQueue): Promise<void> {
    const { signal } = this.abort;
    const breaker = this.router.endpoints.get(queue.route.backend ?? '')?.breaker;
    while (!signal.aborted) {
      try {
        // While the backend's breaker is open nothing is pulled; once it lets a probe through, one
        // message is pulled to be that probe, and nothing more while the probe is out (half-open).
        const wait = breaker?.retryAfter() ?? 0;
        if (wait > 0 || breaker?.state === 'half_open') {
          await sleep(wait || probePollMs, undefined, { signal }).catch(() => {});
          continue;
        }
        const maxMessages = breaker && breaker.state !== 'closed' ? 1 : concurrency;
        const batch = await this.store.pull(queue.subscription, { maxMessages, waitMs: 1000, signal });
        await Promise.all(batch.map((received) => this.deliver(queue, received)));
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn({ event: 'routing.durable_pull_failed', route: queue.route.name, err: (err as Error).message }, 'durable queue could not be read; retrying');
        await sleep(1000, undefined, { signal }).catch(() => {});
      }
    }
  }

  private async deliver(queue: RouteQueue, received: ReceivedMessage): Promise<void> {
    const stored = received.message.data as StoredMessage;
    const route = queue.route.name;
    const breaker = this.router.endpoints.get(stored.backend)?.breaker;
    // Checked right before the call, which takes the probe (or is refused) without yielding first.
    const backendFailing = breaker !== undefined && breaker.state !== 'closed';
    try {
      const answer = await this.router.call(stored.backend, stored.message, received.attempt);
      if (answer.later) this.log.debug({ event: 'routing.durable_answer_later', route, message: stored.message.id });
      await this.store.ack(queue.subscription, [received.ackId]);
      return;
    } catch (err) {
      const code = err instanceof SwitchboardError ? err.code : 'internal';
      const refused = err instanceof CallFailure && err.outcome === 'breaker_open';
      if (refused || (backendFailing && !permanentCodes.has(code))) {
        // The node's own breaker refused the call, or the call was the probe of a backend known to
        // be failing: the outage is the backend's, so the message keeps its attempts.
        this.log.debug(
          { event: 'routing.durable_deferred', route, message: stored.message.id, attempt: received.attempt, code },
          'backend failing; durable message kept for later',
        );
        await this.store.nack(queue.subscription, [received.ackId], breaker?.retryAfter() ?? 0, { notAttempted: true });
        return;
      }
      const last = received.attempt >= queue.maxAttempts || permanentCodes.has(code);
      this.log.info(
        { event: last ? 'routing.durable_dead_letter' : 'routing.durable_retry', route, message: stored.message.id, attempt: received.attempt, code },
        last ? 'durable message moved to the dead letters' : 'durable delivery failed; retrying',
      );
      if (last) {
        this.metrics.deadLetter(route);
        if (received.attempt >= queue.maxAttempts) {
          // The store hands it to TopicService's dead letters when it would hand it out once more.
          await this.store.nack(queue.subscription, [received.ackId], 0);
          return;
        }
        await this.store.append(queue.deadTopic, [deadLetterCopy(received.message, { topic: queue.topic, subscription: queue.subscription, attempts: received.attempt })]);
        await this.store.ack(queue.subscription, [received.ackId]);
        return;
      }
      this.metrics.retry(route);
      await this.store.nack(
        queue.subscription,
        [received.ackId],
        backoffDelay({ initial: this.options.initialBackoff, max: this.options.maxBackoff, jitter: 'full' }, received.attempt),
      );
    }
  }
}
