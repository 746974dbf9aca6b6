import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import { backoffDelay } from '../backends/backoff.js';
import type { Config } from '../config/schema.js';
import { SwitchboardError } from '../protocol/errors.js';
import { isTimeout } from '../outbound/read-body.js';
import { ForbiddenTarget, type TargetPolicy } from '../outbound/targets.js';
import type { TopicMetrics, WebhookOutcome } from './metrics.js';
import type { TopicService, SubscriptionRecord } from './service.js';
import type { ReceivedMessage } from './store.js';
import { publicMessage } from './views.js';

/** Header carrying `t=<ms since the epoch>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the subscription's secret>`. */
export const signatureHeader = 'x-switchboard-signature';
/** How often a node looks for webhook subscriptions created or deleted elsewhere. */
const refreshIntervalMs = 2000;
/** How long a worker waits for messages in one pull. */
const pullWaitMs = 1000;
/** Pause after the store failed, before pulling again. */
const errorPauseMs = 1000;

/** The signature header's value for a body sent at `time`. */
export function sign(secret: string, time: number, body: string): string {
  return `t=${time},v1=${createHmac('sha256', secret).update(`${time}.${body}`).digest('hex')}`;
}

/** The JSON body a webhook receives for one message: the message as the topics API shows it, without an ack id (a 2xx answer acknowledges). */
export function webhookBody(subscription: string, received: ReceivedMessage): string {
  return JSON.stringify({ subscription, attempt: received.attempt, message: publicMessage(received.message) });
}

/**
 * Delivers webhook subscriptions (`push` in the API): every node runs one worker per webhook
 * subscription, pulling like any consumer (so deliveries spread over the nodes and survive any of
 * them dying), POSTing each message to the webhook and acknowledging it on a 2xx answer. Any other outcome (non-2xx,
 * redirect — never followed —, timeout, connection refused) gives the message back with an
 * exponential backoff; after the subscription's max attempts the store moves it to the
 * dead-letter topic.
 */
export class WebhookDeliverer {
  private readonly workers = new Map<string, WebhookWorker>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private failing = false;
  /** Connects only to addresses the target policy permits, to the very address it checked (no DNS rebinding). */
  private readonly agent: Agent;

  constructor(
    private readonly service: TopicService,
    private readonly config: Config['topics']['push'],
    private readonly metrics: TopicMetrics,
    private readonly log: Logger,
    targets: TargetPolicy,
  ) {
    this.agent = new Agent({ connect: targets.connector('push') });
  }

  start(): void {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), refreshIntervalMs);
    this.timer.unref();
  }

  /** Looks for webhook subscriptions now (after one was created or changed on this node). */
  refresh(): void {
    this.refreshing ??= this.sync()
      .then(() => {
        this.failing = false;
      })
      .catch((err: unknown) => {
        // Once per outage: the store being down is reported where it is used, not every refresh.
        if (!this.failing) this.log.warn({ event: 'topics.push_refresh_failed', err: (err as Error).message }, 'could not list webhook subscriptions');
        this.failing = true;
      })
      .finally(() => (this.refreshing = undefined));
  }

  private async sync(): Promise<void> {
    const subs = (await this.service.allSubscriptions()).filter((s) => s.push);
    const wanted = new Map(subs.map((s) => [`${s.application}/${s.name}`, s]));
    for (const [key, worker] of this.workers) {
      const sub = wanted.get(key);
      if (!sub || JSON.stringify(sub.push) !== JSON.stringify(worker.sub.push)) {
        this.workers.delete(key);
        void worker.stop();
      }
    }
    if (!this.timer) return;
    for (const [key, sub] of wanted) {
      if (this.workers.has(key)) continue;
      const worker = new WebhookWorker(sub, this.service, this.config, this.metrics, this.log, this.agent);
      this.workers.set(key, worker);
      worker.start(() => {
        if (this.workers.get(key) === worker) this.workers.delete(key);
      });
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.refreshing;
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    this.workers.clear();
    await this.agent.close();
  }
}

class WebhookWorker {
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private readonly label: string;

  constructor(
    readonly sub: SubscriptionRecord,
    private readonly service: TopicService,
    private readonly config: Config['topics']['push'],
    private readonly metrics: TopicMetrics,
    private readonly log: Logger,
    private readonly agent: Agent,
  ) {
    this.label = `${sub.application}/${sub.name}`;
  }

  start(onEnd: () => void): void {
    this.running = this.loop().finally(onEnd);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const { signal } = this.abort;
    let withoutGrant = false;
    while (!signal.aborted) {
      try {
        const batch = await this.service.pull(this.sub.application, this.sub.name, { maxMessages: this.config.concurrency, waitMs: pullWaitMs, signal });
        if (withoutGrant) this.log.info({ event: 'topics.push_resumed', subscription: this.label }, 'webhook subscription may read its topic again');
        withoutGrant = false;
        await Promise.all(batch.map((received) => this.deliver(received)));
      } catch (err) {
        if (err instanceof SwitchboardError && err.code === 'not_found') return;
        if (err instanceof SwitchboardError && err.code === 'forbidden') {
          // The topic's owner took the grant back: nothing is pulled, so nothing runs out of
          // attempts; deliveries resume if the grant comes back.
          if (!withoutGrant) this.log.warn({ event: 'topics.push_paused', subscription: this.label, err: err.message }, 'webhook subscription lost its grant; deliveries paused');
          withoutGrant = true;
        } else {
          this.log.warn({ event: 'topics.push_pull_failed', subscription: this.label, err }, 'webhook subscription could not pull');
        }
        await sleep(errorPauseMs);
      }
    }
  }

  private async deliver(received: ReceivedMessage): Promise<void> {
    const target = this.sub.push!;
    const body = webhookBody(this.label, received);
    const started = performance.now();
    let outcome: WebhookOutcome;
    let status: number | undefined;
    try {
      const res = await request(target.endpoint, {
        method: 'POST',
        dispatcher: this.agent,
        body,
        headers: {
          'content-type': 'application/json',
          [signatureHeader]: sign(target.secret, Date.now(), body),
          'x-switchboard-message-id': received.message.id,
          'x-switchboard-attempt': String(received.attempt),
          'x-switchboard-subscription': this.label,
        },
        signal: AbortSignal.any([AbortSignal.timeout(this.config.timeout), this.abort.signal]),
        headersTimeout: this.config.timeout,
        bodyTimeout: this.config.timeout,
      });
      status = res.statusCode;
      await res.body.dump();
      outcome = status >= 200 && status < 300 ? 'ok' : status >= 300 && status < 400 ? 'redirect' : 'http_error';
    } catch (err) {
      if (this.abort.signal.aborted) return;
      outcome = err instanceof ForbiddenTarget ? 'forbidden' : isTimeout(err) || (err as { code?: string }).code?.includes('TIMEOUT') ? 'timeout' : 'unreachable';
    }
    this.metrics.onWebhookAttempt(this.label, outcome, (performance.now() - started) / 1000);
    if (outcome === 'ok') {
      await this.service.ack(this.sub, [received.ackId]).catch(() => {});
      return;
    }
    const delay = Math.min(backoffDelay({ initial: this.config.minBackoff, max: this.config.maxBackoff, jitter: 'half' }, received.attempt), this.service.config.maxAckDeadline);
    this.log.debug(
      { event: 'topics.push_failed', subscription: this.label, message: received.message.id, attempt: received.attempt, outcome, status, retryInMs: delay },
      'webhook did not take the message',
    );
    await this.service.nack(this.sub, [received.ackId], delay).catch(() => {});
  }
}
