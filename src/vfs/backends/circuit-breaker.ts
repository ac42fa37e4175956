import { VfsError } from '../errors.js';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses calls before one probe is let through. */
  cooldownMs: number;
  /** Names the dependency in error messages. */
  name: string;
  now?: () => number;
}

type State = { kind: 'closed'; failures: number } | { kind: 'open'; until: number } | { kind: 'half-open' };

/**
 * Fails fast while a dependency is down, instead of letting every request wait
 * out its timeouts and retries. After `cooldownMs` one call (a request or the
 * /health probe) is let through: its success closes the circuit, its failure
 * opens it again.
 */
export class CircuitBreaker {
  private state: State = { kind: 'closed', failures: 0 };
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get status(): 'closed' | 'open' | 'half-open' {
    return this.state.kind;
  }

  /**
   * Runs `fn` unless the circuit is open. `isOutage` decides which errors count
   * as the dependency being down (not "no such key", not a client's broken body).
   */
  async run<T>(fn: () => Promise<T>, isOutage: (err: unknown) => boolean): Promise<T> {
    this.admit();
    try {
      const result = await fn();
      this.state = { kind: 'closed', failures: 0 };
      return result;
    } catch (err) {
      if (isOutage(err)) {
        this.recordOutage();
        throw this.unavailable(err);
      }
      // Any answer from the dependency, even an error, proves it is reachable.
      if (this.state.kind === 'half-open') this.state = { kind: 'closed', failures: 0 };
      throw err;
    }
  }

  private admit(): void {
    const s = this.state;
    if (s.kind === 'open') {
      if (this.now() < s.until) throw this.unavailable();
      this.state = { kind: 'half-open' };
      return;
    }
    // While the single probe is out, everyone else keeps failing fast.
    if (s.kind === 'half-open') throw this.unavailable();
  }

  private recordOutage(): void {
    const s = this.state;
    const failures = s.kind === 'closed' ? s.failures + 1 : this.options.failureThreshold;
    this.state = failures >= this.options.failureThreshold ? { kind: 'open', until: this.now() + this.options.cooldownMs } : { kind: 'closed', failures };
  }

  private unavailable(cause?: unknown): VfsError {
    const s = this.state;
    const waitMs = s.kind === 'open' ? Math.max(0, s.until - this.now()) : this.options.cooldownMs;
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
    const reason = cause instanceof Error ? `: ${cause.message || cause.name}` : ' (circuit open after repeated failures)';
    return new VfsError('UNAVAILABLE', `${this.options.name} is unreachable${reason}`, { retryAfter }, { cause });
  }
}
