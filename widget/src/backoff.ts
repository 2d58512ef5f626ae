/** Exponential back-off with jitter: 1 s, 2 s, 4 s … up to 30 s, each shortened by a random
 * part (up to `jitter` of it) so that many widgets do not reconnect in step. */

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** The share of each delay that is random, 0–1. */
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly jitter: number;
  private readonly random: () => number;
  private attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 1000;
    this.maxMs = options.maxMs ?? 30000;
    this.jitter = Math.min(1, Math.max(0, options.jitter ?? 0.3));
    this.random = options.random ?? Math.random;
  }

  /** The ceiling of the next delay, before jitter. */
  ceiling(): number {
    // 2 ** 30 is far past any sane max; cap the exponent so the number stays finite.
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
  }

  /** The delay before the next try; each call counts one more failed try. */
  next(): number {
    const ceiling = this.ceiling();
    this.attempt += 1;
    return Math.round(ceiling * (1 - this.jitter * this.random()));
  }

  /** How many tries failed in a row. */
  get failures(): number {
    return this.attempt;
  }

  /** After a success: the next failure waits the base delay again. */
  reset(): void {
    this.attempt = 0;
  }
}
