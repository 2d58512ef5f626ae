/** Page views and rage clicks go to the server in small batches (at most `maxBatch`),
 * after a short delay; a failed batch is put back and tried again later. */

export interface Timer {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimer: Timer = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class Batcher<T> {
  private queue: T[] = [];
  private handle: unknown = null;
  private busy = false;
  private paused = true;

  constructor(
    private readonly send: (batch: T[]) => Promise<boolean>,
    private readonly options: { maxBatch?: number; delayMs?: number; maxQueued?: number; timer?: Timer } = {},
  ) {}

  get maxBatch(): number {
    return this.options.maxBatch ?? 20;
  }

  get pending(): number {
    return this.queue.length;
  }

  add(item: T): void {
    this.queue.push(item);
    const maxQueued = this.options.maxQueued ?? 200;
    if (this.queue.length > maxQueued) this.queue.splice(0, this.queue.length - maxQueued);
    this.schedule();
  }

  /** Nothing is sent while paused (before the visitor has a session). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  /** Sends everything queued now, batch after batch; false when a batch failed. */
  async flush(): Promise<boolean> {
    this.cancel();
    if (this.busy || this.paused) return true;
    this.busy = true;
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, this.maxBatch);
        let ok = false;
        try {
          ok = await this.send(batch);
        } catch {
          ok = false;
        }
        if (!ok) {
          this.queue.unshift(...batch);
          return false;
        }
      }
      return true;
    } finally {
      this.busy = false;
    }
  }

  private schedule(): void {
    if (this.paused || this.handle !== null || !this.queue.length) return;
    const timer = this.options.timer ?? realTimer;
    const delay = this.queue.length >= this.maxBatch ? 0 : (this.options.delayMs ?? 1000);
    this.handle = timer.set(() => {
      this.handle = null;
      void this.flush();
    }, delay);
  }

  private cancel(): void {
    if (this.handle === null) return;
    (this.options.timer ?? realTimer).clear(this.handle);
    this.handle = null;
  }
}
