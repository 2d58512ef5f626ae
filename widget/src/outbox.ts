/** The visitor's messages not yet confirmed by the server, sent in order, each with the
 * `client_id` it was given when written. A resend after a lost answer uses the same
 * `client_id`, so the server keeps it once. Text messages survive a page reload
 * (localStorage); files are kept in memory only. */

import type { PreChat } from "./protocol";

export interface OutboxItem {
  client_id: string;
  body: string;
  pre_chat?: PreChat;
  /** An attachment to upload with the message (not persisted). */
  file?: Blob & { name?: string };
  attempts: number;
}

/** What sending one item came to: `retry` keeps it (and everything after it) queued. */
export type SendResult = "sent" | "retry" | "drop";

export interface KeyValue {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface FlushReport {
  sent: string[];
  dropped: string[];
  /** True when an item is still waiting for a later try. */
  blocked: boolean;
}

export class Outbox {
  private queue: OutboxItem[] = [];
  private flushing: Promise<FlushReport> | null = null;
  private again = false;

  constructor(
    private readonly send: (item: OutboxItem) => Promise<SendResult>,
    private readonly storage: KeyValue | null = null,
    private readonly storageKey = "",
  ) {
    this.load();
  }

  add(item: Omit<OutboxItem, "attempts">): void {
    if (this.queue.some((q) => q.client_id === item.client_id)) return;
    this.queue.push({ ...item, attempts: 0 });
    this.save();
  }

  items(): readonly OutboxItem[] {
    return this.queue;
  }

  get length(): number {
    return this.queue.length;
  }

  /** Sends what is queued, oldest first, one at a time; stops at the first that must wait.
   * A call made while a flush runs makes that flush go round once more. */
  flush(): Promise<FlushReport> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = this.run().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async run(): Promise<FlushReport> {
    const report: FlushReport = { sent: [], dropped: [], blocked: false };
    do {
      this.again = false;
      while (this.queue.length) {
        const item = this.queue[0];
        item.attempts += 1;
        let result: SendResult;
        try {
          result = await this.send(item);
        } catch {
          result = "retry";
        }
        if (result === "retry") {
          this.save();
          report.blocked = true;
          return report;
        }
        this.queue.shift();
        this.save();
        (result === "sent" ? report.sent : report.dropped).push(item.client_id);
      }
    } while (this.again);
    return report;
  }

  private load(): void {
    if (!this.storage || !this.storageKey) return;
    try {
      const raw = this.storage.getItem(this.storageKey);
      if (!raw) return;
      const parsed: unknown = JSON.parse(raw);
      if (!Array.isArray(parsed)) return;
      for (const item of parsed) {
        if (item && typeof item.client_id === "string" && typeof item.body === "string") {
          this.queue.push({
            client_id: item.client_id,
            body: item.body,
            pre_chat: item.pre_chat || undefined,
            attempts: 0,
          });
        }
      }
    } catch {
      // A broken entry is dropped, never fatal.
    }
  }

  private save(): void {
    if (!this.storage || !this.storageKey) return;
    try {
      const durable = this.queue
        .filter((item) => !item.file)
        .map(({ client_id, body, pre_chat }) => ({ client_id, body, pre_chat }));
      if (durable.length) this.storage.setItem(this.storageKey, JSON.stringify(durable));
      else this.storage.removeItem(this.storageKey);
    } catch {
      // Storage full or blocked: the queue still lives in memory.
    }
  }
}
