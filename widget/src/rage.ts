/** Rage clicks: three or more clicks within 700 ms, all within 30 px of the latest one.
 * One burst is reported once, however long the visitor keeps clicking. */

export interface Click {
  x: number;
  y: number;
  /** Milliseconds, from any monotonic clock. */
  t: number;
}

export interface RageOptions {
  count?: number;
  windowMs?: number;
  radiusPx?: number;
}

export class RageClickDetector {
  readonly count: number;
  readonly windowMs: number;
  readonly radiusPx: number;
  private clicks: Click[] = [];
  private inBurst = false;

  constructor(options: RageOptions = {}) {
    this.count = options.count ?? 3;
    this.windowMs = options.windowMs ?? 700;
    this.radiusPx = options.radiusPx ?? 30;
  }

  /** Records a click; true when it makes a new burst of rage clicks. */
  add(click: Click): boolean {
    const near = this.clicks.filter(
      (c) =>
        click.t - c.t <= this.windowMs &&
        click.t >= c.t &&
        Math.hypot(click.x - c.x, click.y - c.y) <= this.radiusPx,
    );
    near.push(click);
    this.clicks = near;
    if (near.length < this.count) {
      this.inBurst = false;
      return false;
    }
    if (this.inBurst) return false;
    this.inBurst = true;
    return true;
  }
}
