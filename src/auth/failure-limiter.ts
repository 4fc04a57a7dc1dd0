/**
 * Slows down token guessing: after `maxFailures` invalid tokens from one client within `windowMs`,
 * that client is refused (429, Retry-After) until the oldest of those failures leaves the window,
 * even with a valid token, so a guess made meanwhile teaches nothing. In memory: a restart forgets,
 * which costs an attacker one restart per ten guesses against a 256-bit secret.
 */
import { type Clock, systemClock } from '../common/index.js';

export interface FailureLimiterOptions {
  maxFailures?: number;
  windowMs?: number;
  /** Clients remembered at most; the one whose last failure is oldest is forgotten first. */
  maxClients?: number;
  clock?: Pick<Clock, 'now'>;
}

export class FailureLimiter {
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #maxClients: number;
  readonly #clock: Pick<Clock, 'now'>;
  /** Failure times (ms) per client, oldest first, at most maxFailures of them. */
  readonly #failures = new Map<string, number[]>();

  constructor(options: FailureLimiterOptions = {}) {
    this.#maxFailures = options.maxFailures ?? 10;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxClients = options.maxClients ?? 10_000;
    this.#clock = options.clock ?? systemClock;
  }

  /** Whole seconds until `client` may try again, or undefined when it may now. */
  retryAfterSeconds(client: string): number | undefined {
    const recent = this.#recent(client);
    const oldest = recent[0];
    if (oldest === undefined || recent.length < this.#maxFailures) return undefined;
    return Math.max(1, Math.ceil((oldest + this.#windowMs - this.#clock.now()) / 1000));
  }

  recordFailure(client: string): void {
    const recent = [...this.#recent(client), this.#clock.now()].slice(-this.#maxFailures);
    this.#failures.delete(client);
    this.#failures.set(client, recent);
    if (this.#failures.size > this.#maxClients) {
      // A Map iterates in insertion order, and a client is re-inserted at each failure.
      const quietest = this.#failures.keys().next().value;
      if (quietest !== undefined) this.#failures.delete(quietest);
    }
  }

  #recent(client: string): number[] {
    const since = this.#clock.now() - this.#windowMs;
    const recent = (this.#failures.get(client) ?? []).filter((at) => at > since);
    if (recent.length === 0) this.#failures.delete(client);
    return recent;
  }
}
