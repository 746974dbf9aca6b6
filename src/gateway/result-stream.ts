/**
 * The results of one forwarded operation as the async iterator graphql-ws's server reads: pushed
 * as they come from the instance, ended by the instance (`finish`, `fail`) or by the client
 * (`return`, which graphql-ws calls when the client completes the operation or goes away).
 * `return` takes effect at once even while a read is waiting, unlike an async generator's.
 */
export class ResultStream<T> implements AsyncIterableIterator<T> {
  private readonly queued: T[] = [];
  private failure: Error | undefined;
  private finished = false;
  private waiting: { resolve: (result: IteratorResult<T>) => void; reject: (err: Error) => void } | undefined;
  private readonly endHandlers: (() => void)[] = [];

  get ended(): boolean {
    return this.finished;
  }

  /** Runs `handler` once when the stream ends, however it ends; at once when it has. */
  onEnd(handler: () => void): void {
    if (this.finished) handler();
    else this.endHandlers.push(handler);
  }

  push(value: T): void {
    if (this.finished) return;
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting.resolve({ value, done: false });
    else this.queued.push(value);
  }

  /** Ends the stream after what is queued: the reader gets `err` next. */
  fail(err: Error): void {
    if (this.finished) return;
    this.failure = err;
    this.end();
  }

  finish(): void {
    this.end();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queued.length > 0) return Promise.resolve({ value: this.queued.shift()!, done: false });
    if (this.failure) {
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.queued.length = 0;
    this.failure = undefined;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private end(): void {
    if (this.finished) return;
    this.finished = true;
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) {
      if (this.failure) {
        waiting.reject(this.failure);
        this.failure = undefined;
      } else {
        waiting.resolve({ value: undefined, done: true });
      }
    }
    for (const handler of this.endHandlers.splice(0)) handler();
  }
}
