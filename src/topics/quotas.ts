import { SwitchboardError } from '../protocol/errors.js';

/** Publishing over an application's rate quota: 429 with how long to wait. */
export class QuotaExceeded extends SwitchboardError {
  constructor(
    readonly quota: 'messages_per_second' | 'bytes_per_second',
    readonly retryAfterSeconds: number,
  ) {
    super('rate_limited', `over the application's ${quota.replaceAll('_', ' ')} quota; retry after ${retryAfterSeconds} s`);
  }
}

/**
 * A publish larger than one second of a rate quota: the bucket can never hold it, so waiting would
 * not help; 413, and the publisher splits it.
 */
export class BatchOverQuota extends SwitchboardError {
  constructor(
    readonly quota: 'messages_per_second' | 'bytes_per_second',
    amount: number,
    rate: number,
  ) {
    const [unit, setting] = quota === 'messages_per_second' ? ['messages', 'messagesPerSecond'] : ['bytes', 'bytesPerSecond'];
    super('too_large', `a publish of ${amount} ${unit} exceeds the application's ${setting} quota of ${rate}; split it into publishes of at most ${rate} ${unit}`);
  }
}

/** A token bucket holding up to one second of its rate. */
class Bucket {
  private tokens: number;
  private updatedAt = performance.now();

  constructor(private rate: number) {
    this.tokens = rate;
  }

  setRate(rate: number): void {
    this.rate = rate;
    this.tokens = Math.min(this.tokens, rate);
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.updatedAt) / 1000) * this.rate);
    this.updatedAt = now;
  }

  /** Seconds until `amount` (at most the capacity) fits, or 0 when it fits now (then it is not yet taken). */
  waitFor(amount: number, now: number): number {
    this.refill(now);
    return amount <= this.tokens ? 0 : (amount - this.tokens) / this.rate;
  }

  take(amount: number): void {
    this.tokens -= amount;
  }
}

/** Per-application publish rate quotas (messages/s and bytes/s), enforced on each node. */
export class PublishQuotas {
  private readonly buckets = new Map<string, { messages: Bucket; bytes: Bucket }>();

  /**
   * Takes `messages` and `bytes` from the application's buckets, or throws taking nothing:
   * BatchOverQuota when they exceed one second of a rate, QuotaExceeded when they must wait.
   */
  take(application: string, limits: { messagesPerSecond: number; bytesPerSecond: number }, messages: number, bytes: number): void {
    let pair = this.buckets.get(application);
    if (!pair) this.buckets.set(application, (pair = { messages: new Bucket(limits.messagesPerSecond), bytes: new Bucket(limits.bytesPerSecond) }));
    pair.messages.setRate(limits.messagesPerSecond);
    pair.bytes.setRate(limits.bytesPerSecond);
    // A bucket holds one second of its rate: more can never pass.
    if (messages > limits.messagesPerSecond) throw new BatchOverQuota('messages_per_second', messages, limits.messagesPerSecond);
    if (bytes > limits.bytesPerSecond) throw new BatchOverQuota('bytes_per_second', bytes, limits.bytesPerSecond);
    const now = performance.now();
    const messageWait = pair.messages.waitFor(messages, now);
    if (messageWait > 0) throw new QuotaExceeded('messages_per_second', Math.max(1, Math.ceil(messageWait)));
    const byteWait = pair.bytes.waitFor(bytes, now);
    if (byteWait > 0) throw new QuotaExceeded('bytes_per_second', Math.max(1, Math.ceil(byteWait)));
    pair.messages.take(messages);
    pair.bytes.take(bytes);
  }

  forget(application: string): void {
    this.buckets.delete(application);
  }
}
