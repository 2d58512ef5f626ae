/** The messages the widget shows: confirmed ones by id, the visitor's unconfirmed ones by
 * `client_id`. A message that arrives twice (history, websocket replay, the answer to a
 * resent POST, another tab) is kept once; statuses only move forward. */

import { compareIds, type Message, type MessageId, type Attachment } from "./protocol";

export type LocalState = "queued" | "sending" | "failed";

export interface Entry {
  /** Set once the server has the message. */
  id: MessageId | null;
  client_id: string | null;
  message: Message | null;
  /** The visitor's message before the server confirmed it. */
  local: { body: string; state: LocalState; error?: string; attachmentName?: string } | null;
}

const RANK: Record<string, number> = { sent: 0, delivered: 1, read: 2 };

export type Change = "added" | "updated" | "unchanged";

export class MessageStore {
  private readonly byId = new Map<string, Entry>();
  private readonly byClientId = new Map<string, Entry>();
  private confirmed: Entry[] = [];
  private pending: Entry[] = [];

  /** Adds or merges a message from the server. */
  upsert(message: Message): Change {
    const key = String(message.id);
    const known = this.byId.get(key);
    if (known && known.message) {
      const merged = mergeMessage(known.message, message);
      if (merged === known.message) return "unchanged";
      known.message = merged;
      return "updated";
    }
    const clientId = message.client_id || null;
    const local = clientId ? this.byClientId.get(clientId) : undefined;
    if (local) {
      // The visitor's own message, now confirmed: it leaves the pending list.
      this.pending = this.pending.filter((e) => e !== local);
      local.id = message.id;
      local.message = message;
      local.local = null;
      this.byId.set(key, local);
      this.insertConfirmed(local);
      return "updated";
    }
    const entry: Entry = { id: message.id, client_id: clientId, message, local: null };
    this.byId.set(key, entry);
    if (clientId) this.byClientId.set(clientId, entry);
    this.insertConfirmed(entry);
    return "added";
  }

  /** The visitor's new message, shown at once, before the server answers. */
  addLocal(clientId: string, body: string, attachmentName?: string): Entry {
    const existing = this.byClientId.get(clientId);
    if (existing) return existing;
    const entry: Entry = {
      id: null,
      client_id: clientId,
      message: null,
      local: { body, state: "queued", attachmentName },
    };
    this.byClientId.set(clientId, entry);
    this.pending.push(entry);
    return entry;
  }

  setLocalState(clientId: string, state: LocalState, error?: string): boolean {
    const entry = this.byClientId.get(clientId);
    if (!entry || !entry.local) return false;
    if (entry.local.state === state && entry.local.error === error) return false;
    entry.local = { ...entry.local, state, error };
    return true;
  }

  removeLocal(clientId: string): void {
    const entry = this.byClientId.get(clientId);
    if (!entry || !entry.local) return;
    this.pending = this.pending.filter((e) => e !== entry);
    this.byClientId.delete(clientId);
  }

  /** The agent read the visitor's messages up to `id`: returns how many changed. */
  markReadUpTo(id: MessageId): number {
    let changed = 0;
    for (const entry of this.confirmed) {
      const m = entry.message;
      if (!m || m.direction !== "inbound" || compareIds(m.id, id) > 0) continue;
      if (m.status !== "read") {
        entry.message = { ...m, status: "read" };
        changed += 1;
      }
    }
    return changed;
  }

  /** The newest confirmed id: what a reconnect resumes `after`. */
  lastId(): MessageId | null {
    const last = this.confirmed[this.confirmed.length - 1];
    return last ? last.id : null;
  }

  /** The newest message from the agents' side (what the visitor has read when they see it). */
  lastOutboundId(): MessageId | null {
    for (let i = this.confirmed.length - 1; i >= 0; i -= 1) {
      const m = this.confirmed[i].message;
      if (m && m.direction === "outbound") return m.id;
    }
    return null;
  }

  /** True when the visitor wrote and no person of the team has answered yet. */
  waitingForReply(): boolean {
    let visitorWrote = this.pending.length > 0;
    for (const entry of this.confirmed) {
      const m = entry.message;
      if (!m) continue;
      if (m.direction === "inbound") visitorWrote = true;
      if (m.direction === "outbound" && m.sender.type === "user") return false;
    }
    return visitorWrote;
  }

  has(id: MessageId): boolean {
    return this.byId.has(String(id));
  }

  /** Confirmed messages in id order, then the pending ones in the order they were written. */
  entries(): Entry[] {
    return [...this.confirmed, ...this.pending];
  }

  get size(): number {
    return this.confirmed.length + this.pending.length;
  }

  clear(): void {
    this.byId.clear();
    this.byClientId.clear();
    this.confirmed = [];
    this.pending = [];
  }

  private insertConfirmed(entry: Entry): void {
    const id = entry.id as MessageId;
    let i = this.confirmed.length;
    // Messages nearly always arrive in order: search from the end.
    while (i > 0 && compareIds(this.confirmed[i - 1].id as MessageId, id) > 0) i -= 1;
    this.confirmed.splice(i, 0, entry);
  }
}

function mergeMessage(old: Message, incoming: Message): Message {
  const oldRank = RANK[old.status] ?? 0;
  const newRank = RANK[incoming.status] ?? 0;
  const status = newRank >= oldRank ? incoming.status : old.status;
  const attachments: Attachment[] =
    incoming.attachments && incoming.attachments.length ? incoming.attachments : old.attachments;
  if (
    status === old.status &&
    incoming.body === old.body &&
    attachments.length === (old.attachments || []).length
  ) {
    return old;
  }
  return { ...old, ...incoming, status, attachments };
}
