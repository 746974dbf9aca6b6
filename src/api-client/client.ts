import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../backends/backoff.js';
import type {
  AckResult,
  ApiErrorCode,
  History,
  InstanceRegistration,
  ItemResult,
  NewTopicMessage,
  PresenceMember,
  Publication,
  PublishResult,
  ReceivedMessage,
  Revocation,
  Service,
  ServiceInstance,
  Session,
  TopicMessage,
  TopicPublishResult,
} from './types.js';

export interface ApiClientOptions {
  /** The node's base URL, e.g. `http://switchboard:8080`. */
  url: string;
  /** An API key (admin or publish scope), or an application key for the topic calls. Sent as `Authorization: Bearer KEY`. */
  key?: string;
  /** The fetch function; default the global `fetch`. */
  fetch?: typeof fetch;
  /** How many times a call answered 429 or 503 is tried again. Default 3; 0 never retries. */
  retries?: number;
  /** Backoff base: the first retry waits up to this long (full jitter) unless the answer says Retry-After. Default 200 ms. */
  minRetryDelay?: number;
  /** The longest wait before a retry, Retry-After included. Default 10 000 ms. */
  maxRetryDelay?: number;
}

/** An error answer of the API: its stable code, HTTP status and message. */
export class SwitchboardApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'SwitchboardApiError';
  }
}

const retryStatuses = new Set([429, 503]);

/** Seconds or an HTTP date, as Retry-After gives them, in ms; undefined when absent or unreadable. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (header.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

const segment = encodeURIComponent;

/**
 * A typed client of the server API (docs/api.md) for Node 20: publish, batches, broadcast,
 * sessions, presence, history, revocations, durable topics and the gateway registry. Calls
 * answered 429 or 503 are retried with backoff, honouring Retry-After; topic publishes carry an
 * idempotency key per message, so a retry never stores a message twice.
 */
export class SwitchboardApi {
  private readonly base: string;
  private readonly fetch: typeof fetch;
  private readonly retries: number;
  private readonly minRetryDelay: number;
  private readonly maxRetryDelay: number;

  constructor(private readonly options: ApiClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.retries = options.retries ?? 3;
    this.minRetryDelay = options.minRetryDelay ?? 200;
    this.maxRetryDelay = options.maxRetryDelay ?? 10_000;
  }

  /** One call: JSON in, JSON out, an error answer thrown as SwitchboardApiError. */
  async request<T>(method: string, path: string, body?: unknown, query: Record<string, string | number | boolean | undefined> = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
    const url = `${this.base}${path}${params.size > 0 ? `?${params}` : ''}`;
    const headers: Record<string, string> = {};
    if (this.options.key) headers.authorization = `Bearer ${this.options.key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
    for (let attempt = 0; ; attempt++) {
      const res = await this.fetch(url, init);
      const text = await res.text();
      if (res.ok) return (text ? JSON.parse(text) : undefined) as T;
      if (retryStatuses.has(res.status) && attempt < this.retries) {
        const backoff = backoffDelay({ initial: this.minRetryDelay, max: this.maxRetryDelay, jitter: 'full' }, attempt + 1);
        await sleep(Math.min(this.maxRetryDelay, retryAfterMs(res.headers.get('retry-after')) ?? backoff));
        continue;
      }
      throw errorOf(res.status, text);
    }
  }

  // Channels

  /** Publishes to a channel. The answer counts the subscribers on the answering node. */
  publish(channel: string, data: unknown): Promise<PublishResult> {
    return this.request('POST', '/api/publish', { channel, data });
  }

  /** Publishes several publications in order; a bad one gets its own error without stopping the rest. */
  async publishBatch(publications: Publication[]): Promise<ItemResult[]> {
    return (await this.request<{ results: ItemResult[] }>('POST', '/api/publish', publications)).results;
  }

  /** Publishes the same data to several channels. */
  async broadcast(channels: string[], data: unknown): Promise<ItemResult[]> {
    return (await this.request<{ results: ItemResult[] }>('POST', '/api/broadcast', { channels, data })).results;
  }

  async channels(prefix?: string): Promise<{ nodes: number; channels: { channel: string; subscribers: number }[] }> {
    return this.request('GET', '/api/channels', undefined, { prefix });
  }

  async presence(channel: string): Promise<PresenceMember[]> {
    return (await this.request<{ members: PresenceMember[] }>('GET', `/api/channels/${segment(channel)}/presence`)).members;
  }

  presenceStats(channel: string): Promise<{ channel: string; sessions: number; users: number }> {
    return this.request('GET', `/api/channels/${segment(channel)}/presence-stats`);
  }

  /** The publications a channel keeps; `since` is the `{offset, epoch}` last seen. */
  history(channel: string, options: { since?: { offset: number; epoch: string }; limit?: number; reverse?: boolean } = {}): Promise<History> {
    const since = options.since && `${options.since.offset}:${options.since.epoch}`;
    return this.request('GET', `/api/channels/${segment(channel)}/history`, undefined, { since, limit: options.limit, reverse: options.reverse });
  }

  // Sessions and users

  async sessions(filter: { user?: string; channel?: string } = {}): Promise<Session[]> {
    return (await this.request<{ sessions: Session[] }>('GET', '/api/sessions', undefined, filter)).sessions;
  }

  session(id: string): Promise<Session> {
    return this.request('GET', `/api/sessions/${segment(id)}`);
  }

  disconnectSession(id: string, reason?: string): Promise<{ disconnected: string; reason: string }> {
    return this.request('POST', `/api/sessions/${segment(id)}/disconnect`, reason === undefined ? {} : { reason });
  }

  sendToSession(id: string, data: unknown): Promise<{ sessions: number }> {
    return this.request('POST', `/api/sessions/${segment(id)}/messages`, { data });
  }

  async userSessions(user: string): Promise<Session[]> {
    return (await this.request<{ sessions: Session[] }>('GET', `/api/users/${segment(user)}/sessions`)).sessions;
  }

  disconnectUser(user: string, reason?: string): Promise<{ sessions: number }> {
    return this.request('POST', `/api/users/${segment(user)}/disconnect`, reason === undefined ? {} : { reason });
  }

  sendToUser(user: string, data: unknown): Promise<{ sessions: number }> {
    return this.request('POST', `/api/users/${segment(user)}/messages`, { data });
  }

  subscribeUser(user: string, channel: string): Promise<{ sessions: number }> {
    return this.request('POST', `/api/users/${segment(user)}/subscribe`, { channel });
  }

  unsubscribeUser(user: string, channel: string): Promise<{ sessions: number }> {
    return this.request('POST', `/api/users/${segment(user)}/unsubscribe`, { channel });
  }

  /** Refuses a token (jti) or every token of a user issued until now, on every node, for expiresIn seconds. */
  async revoke(revocation: { jti?: string; user?: string; expiresIn: number }): Promise<Revocation> {
    return (await this.request<{ revoked: Revocation }>('POST', '/api/revocations', revocation)).revoked;
  }

  // Durable topics

  readonly topics = {
    /** Publishes one message; without an idempotencyKey the client gives it one, so retries store it once. */
    publish: (app: string, topic: string, message: NewTopicMessage): Promise<TopicPublishResult> =>
      this.request('POST', `/api/topics/${segment(app)}/topics/${segment(topic)}/publish`, withIdempotencyKey(message)),
    /** Publishes a batch; each message gets its own result or error. */
    publishBatch: async (app: string, topic: string, messages: NewTopicMessage[]): Promise<(TopicPublishResult | { error: { code: ApiErrorCode; message: string } })[]> =>
      (
        await this.request<{ results: (TopicPublishResult | { error: { code: ApiErrorCode; message: string } })[] }>(
          'POST',
          `/api/topics/${segment(app)}/topics/${segment(topic)}/publish`,
          { messages: messages.map(withIdempotencyKey) },
        )
      ).results,
    /** Receives up to maxMessages (default 100), waiting up to waitMs (default 0) for some. */
    pull: async (app: string, subscription: string, options: { maxMessages?: number; waitMs?: number } = {}): Promise<ReceivedMessage[]> =>
      (await this.request<{ messages: ReceivedMessage[] }>('POST', `/api/topics/${segment(app)}/subscriptions/${segment(subscription)}/pull`, options)).messages,
    ack: async (app: string, subscription: string, ackIds: string[]): Promise<AckResult[]> =>
      (await this.request<{ results: AckResult[] }>('POST', `/api/topics/${segment(app)}/subscriptions/${segment(subscription)}/ack`, { ackIds })).results,
    nack: async (app: string, subscription: string, ackIds: string[], delayMs?: number): Promise<AckResult[]> =>
      (await this.request<{ results: AckResult[] }>('POST', `/api/topics/${segment(app)}/subscriptions/${segment(subscription)}/nack`, { ackIds, delayMs })).results,
    messages: async (app: string, topic: string, from: { time?: string | number; position?: string; limit?: number } = {}): Promise<TopicMessage[]> =>
      (await this.request<{ messages: TopicMessage[] }>('GET', `/api/topics/${segment(app)}/topics/${segment(topic)}/messages`, undefined, from)).messages,
  };

  // The gateway's service registry

  readonly registry = {
    services: async (): Promise<Service[]> => (await this.request<{ services: Service[] }>('GET', '/api/services')).services,
    service: (name: string): Promise<Service> => this.request('GET', `/api/services/${segment(name)}`),
    register: (service: string, instance: InstanceRegistration): Promise<{ created: boolean; instance: ServiceInstance }> =>
      this.request('POST', `/api/services/${segment(service)}/instances`, instance),
    heartbeat: async (service: string, id: string): Promise<ServiceInstance> =>
      (await this.request<{ instance: ServiceInstance }>('PUT', `/api/services/${segment(service)}/instances/${segment(id)}/heartbeat`)).instance,
    deregister: async (service: string, id: string): Promise<void> => {
      await this.request('DELETE', `/api/services/${segment(service)}/instances/${segment(id)}`);
    },
  };
}

function withIdempotencyKey(message: NewTopicMessage): NewTopicMessage {
  return message.idempotencyKey === undefined ? { ...message, idempotencyKey: crypto.randomUUID() } : message;
}

const byStatus: Record<number, ApiErrorCode> = { 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 413: 'too_large', 429: 'rate_limited', 500: 'internal', 504: 'timeout' };

function errorOf(status: number, text: string): SwitchboardApiError {
  try {
    const { error } = JSON.parse(text) as { error: { code: ApiErrorCode; message: string } };
    if (typeof error?.code === 'string') return new SwitchboardApiError(error.code, error.message, status);
  } catch {
    // Not a Switchboard answer (a proxy's error page): the status says what happened.
  }
  const code = byStatus[status] ?? (status >= 500 ? 'unavailable' : 'bad_request');
  return new SwitchboardApiError(code, `HTTP ${status}: ${text.slice(0, 200)}`, status);
}
