/** The visitor's typing indicator towards the agent: `typing: true` at most once per
 * `intervalMs` while keys are pressed, `typing: false` once when they stop or send. */

export class TypingThrottle {
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private active = false;

  constructor(readonly intervalMs = 3000) {}

  /** A key was pressed at `now`: true when `{typing: true}` should be sent. */
  input(now: number): boolean {
    if (this.active && now - this.lastSentAt < this.intervalMs) return false;
    this.active = true;
    this.lastSentAt = now;
    return true;
  }

  /** Typing stopped (idle, sent, closed): true when `{typing: false}` should be sent. */
  stop(): boolean {
    if (!this.active) return false;
    this.active = false;
    this.lastSentAt = Number.NEGATIVE_INFINITY;
    return true;
  }
}
