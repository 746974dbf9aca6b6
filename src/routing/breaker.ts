import type { BreakerOptions } from '../config/routing.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * A circuit breaker for one backend. Closed: calls go through and consecutive failures are
 * counted. Open: calls are refused at once. After `openFor`, half-open: one probe goes through;
 * its success closes the breaker, its failure opens it again.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  private probing = false;

  constructor(
    private readonly options: BreakerOptions,
    private readonly onChange: (state: BreakerState) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  /** Whether a call may go out now; a true answer in half-open state makes that call the probe. */
  allow(): boolean {
    if (this.current === 'open') {
      if (this.now() - this.openedAt < this.options.openFor) return false;
      this.move('half_open');
    }
    if (this.current === 'half_open') {
      if (this.probing) return false;
      this.probing = true;
    }
    return true;
  }

  success(): void {
    this.consecutiveFailures = 0;
    this.probing = false;
    if (this.current !== 'closed') this.move('closed');
  }

  failure(): void {
    this.probing = false;
    this.consecutiveFailures += 1;
    if (this.current === 'half_open' || (this.current === 'closed' && this.consecutiveFailures >= this.options.failures)) {
      this.openedAt = this.now();
      this.move('open');
    }
  }

  /** Milliseconds until a probe may go out (0 when calls go through). */
  retryAfter(): number {
    return this.current === 'open' ? Math.max(0, this.openedAt + this.options.openFor - this.now()) : 0;
  }

  private move(state: BreakerState): void {
    this.current = state;
    this.onChange(state);
  }
}
