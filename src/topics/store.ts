/**
 * The TopicStore contract: the one seam every durable-topic backend implements (memory, Redis
 * Streams, NATS JetStream, Kafka). A topic is a durable, append-only log; a subscription is a named
 * cursor on one topic that receives every message at least once, tracks what it delivered and not
 * yet acknowledged, and redelivers it after the ack deadline with a growing attempt count.
 *
 * Division of work: the store owns everything that must survive a restart or be shared by the
 * nodes of a cluster (the log, each subscription's position and pending messages, idempotency
 * keys, delayed messages, metadata records). Applications, keys, quotas, webhook delivery, HTTP
 * and metrics live above it in TopicService and never reach into a store's internals.
 *
 * Every method may be called from any node of a cluster at the same time; a store must stay
 * correct when two nodes pull from one subscription concurrently (each message goes to one of
 * them per delivery attempt).
 *
 * Errors: a store throws `SwitchboardError('not_found')` for an unknown topic (append, read,
 * ensureSubscription, topicStats) or subscription (pull, ack, nack, extend, seek, stats), and
 * `SwitchboardError('unavailable')` when its backend cannot be reached.
 *
 * Names of topics and subscriptions handed to a store match {@link storeNamePattern}; TopicService
 * composes them as `<application>-<name>` (application ids contain no `-`).
 */

/** Topic and subscription names as stores receive them: safe as Redis keys, NATS stream names and Kafka topics. */
export const storeNamePattern = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,199}$/;

/** Settings every store takes. */
export interface TopicStoreOptions {
  /** A repeated idempotency key on one topic within this many ms is accepted once. */
  idempotencyWindowMs: number;
}

/** Which backend a store is; shown in stats and docs. */
export type TopicStoreKind = 'memory' | 'redis' | 'nats' | 'kafka';

/** A message as stored in a topic and handed to subscribers. */
export interface TopicMessage {
  /**
   * Unique message id assigned at publish (never reused, the same on every redelivery and in the
   * dead-letter topic's copy's `attributes['sb-original-id']`, see dead-letters.ts).
   */
  id: string;
  /**
   * The message's place in its topic's log, opaque to callers but ordered within one partition:
   * Redis stream id (`1700000000000-0`), JetStream sequence (`42`), Kafka `partition:offset`,
   * memory sequence. Accepted by {@link TopicStore.seek} and {@link TopicStore.read}.
   */
  position: string;
  /** Any JSON value. Binary payloads travel as base64 strings. */
  data: unknown;
  /** String key/value pairs carried with the message. */
  attributes: Record<string, string>;
  /** Messages with one ordering key reach an `ordered` subscription in publish order. */
  orderingKey?: string;
  /** When the store accepted the message, ms since the epoch. */
  publishTime: number;
  /** Not delivered to any subscription before this time (ms since the epoch), when set. */
  deliverAt?: number;
}

/** What a publisher hands to {@link TopicStore.append}; the store assigns id, position and publishTime. */
export interface NewTopicMessage {
  data: unknown;
  attributes?: Record<string, string>;
  orderingKey?: string;
  /**
   * A publisher-chosen key: a second message with the same key on the same topic within the
   * store's idempotency window is not stored again; its result names the first message.
   */
  idempotencyKey?: string;
  /** Delivery time, ms since the epoch. Stores must never deliver the message earlier. */
  deliverAt?: number;
}

/** The outcome of appending one message; only returned once the write is durable in the store. */
export interface AppendResult {
  id: string;
  position: string;
  /** True when the idempotency key was seen within the window: nothing new was stored. */
  duplicate: boolean;
}

export interface TopicConfig {
  /** Messages older than this are removed, ms; 0 keeps them until the size limit applies. */
  retentionMs: number;
  /** The log is trimmed from its oldest end to stay under this many bytes; 0: no size limit. */
  retentionBytes: number;
  /** Partitions, where the store has them (Kafka); other stores keep one and report 1. */
  partitions: number;
}

/** Where a webhook subscription delivers (its `push` field); a subscription without one is a pull subscription. */
export interface WebhookTarget {
  /** http(s) URL receiving one POST per message. */
  endpoint: string;
  /** HMAC-SHA256 key for the signature header over the request body. */
  secret: string;
}

export interface SubscriptionConfig {
  /** The topic this subscription reads. */
  topic: string;
  /** A delivered message not acknowledged within this many ms is delivered again. */
  ackDeadlineMs: number;
  /**
   * After this many deliveries without an ack the message is moved to `deadLetterTopic` (or,
   * without one, dropped and counted); 0: retried for ever.
   */
  maxDeliveryAttempts: number;
  /**
   * Topic (same store) that receives messages that ran out of attempts. The store keeps it with the
   * subscription and hands it with each exhausted message to its listener, which copies.
   */
  deadLetterTopic?: string;
  /**
   * Deliver messages sharing an ordering key in publish order: a message is not handed out while
   * an earlier one with its key is unacknowledged. Stores may serialise more than one key.
   */
  ordered: boolean;
  /** Webhook delivery settings; stores keep it as part of the record but never act on it. */
  push?: WebhookTarget;
}

/** One delivery of a message to a subscriber. */
export interface ReceivedMessage {
  /**
   * Identifies this delivery for ack/nack/extend. Opaque; valid only on the subscription that
   * produced it, and only until the message is acknowledged or delivered again.
   */
  ackId: string;
  /** 1 on the first delivery, 2 on the first redelivery, and so on. */
  attempt: number;
  message: TopicMessage;
}

/** Per-ack-id outcome of ack, nack and extend. */
export type AckOutcome =
  /** Done. */
  | 'ok'
  /** No such delivery: malformed, from another subscription, already acknowledged, or the message is gone. */
  | 'unknown'
  /** The deadline of this delivery passed and the message was (or will be) delivered again; nothing changed. */
  | 'expired';

/** Where to move a subscription's cursor. After a seek, every message from there on is undelivered. */
export type SeekTarget =
  /** The first message published at or after this time (ms since the epoch). */
  | { time: number }
  /** The message at this position (as in {@link TopicMessage.position}) and everything after it. */
  | { position: string };

export interface PullOptions {
  /** At most this many messages (>= 1). */
  maxMessages: number;
  /**
   * Wait up to this long (ms) for at least one message when none is ready; 0 returns at once.
   * A store may return early with an empty list (the caller loops when it needs to).
   */
  waitMs: number;
  /** Aborts the wait (the client went away); the pull then returns what it has, usually nothing. */
  signal?: AbortSignal;
}

export interface NackOptions {
  /**
   * The delivery was never tried (the caller refused it itself, e.g. its own circuit breaker was
   * open, or it was a probe of a backend known to be failing): it does not count as an attempt, so
   * the next delivery carries the same attempt number.
   */
  notAttempted?: boolean;
}

export interface SubscriptionStats {
  /** Messages not yet acknowledged: delivered and pending plus not yet delivered. */
  unacked: number;
  /** Age (ms) of the oldest unacknowledged message by publish time; 0 when there is none. */
  oldestUnackedAgeMs: number;
}

export interface TopicStats {
  /** Messages currently retained in the log (delayed ones not yet due included). */
  messages: number;
  /** Bytes currently retained, as the store counts them (approximate where the store estimates). */
  bytes: number;
}

/** A message that ran out of delivery attempts, as a store hands it to its owner. */
export interface ExhaustedMessage {
  subscription: string;
  /** The subscription's topic. */
  topic: string;
  /** The subscription's dead-letter topic, as the store keeps it. */
  deadLetterTopic: string | undefined;
  message: TopicMessage;
  /** Deliveries it had. */
  attempts: number;
}

/** What the store tells its owner about deliveries. */
export interface TopicStoreListener {
  /** A message is delivered again (attempt >= 2), for metrics. Called synchronously; must not throw. */
  redelivered?(subscription: string, topic: string): void;
  /**
   * A message ran out of attempts. The store removes it from the subscription only once this
   * resolves; when it rejects, the message stays and is handed over again after the ack deadline.
   * The owner does the dead-lettering (TopicService's DeadLetters); without a listener the store
   * drops the message.
   */
  exhausted?(exhausted: ExhaustedMessage): Promise<void>;
}

/** Kinds of metadata records a store keeps for TopicService (shared across nodes on durable stores). */
export type MetadataKind = 'application' | 'topic' | 'subscription';

/**
 * A small JSON document store for applications, topics and subscriptions. Durable stores keep it
 * where every node sees it (a Redis hash, a JetStream KV bucket); the memory store keeps a Map.
 */
export interface MetadataStore {
  get<T>(kind: MetadataKind, id: string): Promise<T | undefined>;
  /** Writes a record; with `ifAbsent`, only when none exists, and returns whether it wrote. */
  put<T>(kind: MetadataKind, id: string, value: T, opts?: { ifAbsent?: boolean }): Promise<boolean>;
  /** Removes a record; returns whether it existed. */
  delete(kind: MetadataKind, id: string): Promise<boolean>;
  list<T>(kind: MetadataKind): Promise<T[]>;
}

export interface TopicStore {
  readonly kind: TopicStoreKind;
  /** Applications, topics and subscriptions records. */
  readonly metadata: MetadataStore;

  /** Connects and starts background work (delayed-message scheduling, retention). Idempotent. */
  start(listener?: TopicStoreListener): Promise<void>;
  /** Stops background work and disconnects. Pending pulls return. */
  close(): Promise<void>;

  /** Creates the log, or updates its retention when it exists. */
  ensureTopic(name: string, config: TopicConfig): Promise<void>;
  /** Removes the log and every message in it. Subscriptions must be deleted first by the caller. */
  deleteTopic(name: string): Promise<void>;

  /**
   * Appends messages in order and resolves once every one is durable (Redis XADD answered,
   * JetStream publish ack, Kafka acks=all). Results are in input order. Throws only when nothing
   * could be written (store unreachable): then the caller must treat every item as failed.
   */
  append(topic: string, messages: NewTopicMessage[]): Promise<AppendResult[]>;

  /**
   * Reads retained messages in log order from a position or time (default: the oldest), without
   * affecting any subscription; for dead-letter listing and inspection. Delayed messages not yet
   * due are included.
   */
  read(topic: string, opts: { from?: SeekTarget; limit: number }): Promise<TopicMessage[]>;

  /**
   * Creates the subscription's cursor at the end of the log (it receives messages published from
   * now on), or updates deadline, attempts, dead-letter topic and ordering when it exists.
   */
  ensureSubscription(name: string, config: SubscriptionConfig): Promise<void>;
  deleteSubscription(name: string): Promise<void>;

  /**
   * Hands out messages that are new or whose deadline passed, each with a fresh ackId and its
   * attempt number, starting the ack deadline. Messages that would exceed maxDeliveryAttempts are
   * handed to the listener's `exhausted` instead of being returned, and removed once it resolved.
   */
  pull(subscription: string, opts: PullOptions): Promise<ReceivedMessage[]>;
  /** Acknowledges deliveries; acknowledged messages are never delivered again (short of a seek). */
  ack(subscription: string, ackIds: string[]): Promise<AckOutcome[]>;
  /**
   * Gives deliveries back: each is delivered again no earlier than `delayMs` from now (0: as soon
   * as possible). The attempt count is kept, or taken back with `notAttempted`. Stores may cap the
   * delay (documented per store).
   */
  nack(subscription: string, ackIds: string[], delayMs: number, opts?: NackOptions): Promise<AckOutcome[]>;
  /**
   * Extends deliveries' deadlines: not redelivered before `extendMs` from now (stores may wait up
   * to one full ack deadline beyond, e.g. JetStream's in-progress resets to AckWait).
   */
  extend(subscription: string, ackIds: string[], extendMs: number): Promise<AckOutcome[]>;
  /**
   * Moves the cursor: messages at or after the target become undelivered (replay), messages
   * before it count as acknowledged. Outstanding ack ids become unknown.
   */
  seek(subscription: string, target: SeekTarget): Promise<void>;

  subscriptionStats(subscription: string): Promise<SubscriptionStats>;
  topicStats(topic: string): Promise<TopicStats>;
}
