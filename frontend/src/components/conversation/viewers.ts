// The collision indicator's state: who else is viewing or typing in the open conversation.
// The desktop says "viewing" when a conversation opens, renews it while it stays open and
// says it left when it closes; the others come from `conversation.viewers` frames on /ws
// (each entry lapses after its `expires_in_s` unless a new frame renews it).
import { computed, reactive } from "vue";
import { api, type Schemas } from "../../api/client";
import type { LiveFrame } from "../../lib/stream";

type ViewersOut = Schemas["ViewersOut"];

export interface Viewer {
  userId: number;
  name: string;
  viewing: boolean;
  typing: boolean;
  /** ms since the epoch when this entry lapses. */
  until: number;
}

/** Renewed well within the server's TTL (30 s by default; half of what it says, at most 20 s). */
export const RENEW_MS = 20_000;

export const collision = reactive({
  conversationId: null as number | null,
  me: null as number | null,
  viewers: [] as Viewer[],
  now: Date.now(),
  /** When to say "viewing" again: half of the TTL the server gave this agent's entry. */
  renewMs: RENEW_MS,
});

/** The others (not me) still live, viewing or typing. */
export const others = computed(() =>
  collision.viewers.filter((v) => v.userId !== collision.me && v.until > collision.now),
);
export const othersTyping = computed(() => others.value.filter((v) => v.typing));

/** Applies one `conversation.viewers` frame or answer to the open conversation. */
export function applyViewers(frame: ViewersOut | LiveFrame, now: number = Date.now()): void {
  const out = frame as ViewersOut;
  if (out.conversation_id !== collision.conversationId || !Array.isArray(out.viewers)) return;
  collision.now = now;
  collision.viewers = out.viewers.map((v) => ({
    userId: v.user_id,
    name: v.name,
    viewing: v.viewing,
    typing: v.typing,
    until: now + v.expires_in_s * 1000,
  }));
}

/** The clock moved (a timer): lapsed entries disappear. */
export function tick(now: number = Date.now()): void {
  collision.now = now;
}

/** The next moment an entry lapses (to schedule a tick), or null. */
export function nextLapse(): number | null {
  const times = others.value.map((v) => v.until);
  return times.length ? Math.min(...times) : null;
}

async function say(conversationId: number, viewing: boolean): Promise<void> {
  const { data } = await api.POST("/api/v1/conversations/{conversation_id}/viewing", {
    params: { path: { conversation_id: conversationId } },
    body: { viewing },
  });
  if (data && viewing) {
    applyViewers(data);
    const mine = data.viewers.find((v) => v.user_id === collision.me);
    if (mine) collision.renewMs = Math.max(1000, Math.min(RENEW_MS, mine.expires_in_s * 500));
  }
}

/** This agent opened `conversationId` (or renews it). */
export async function startViewing(conversationId: number, me: number | null): Promise<void> {
  if (collision.conversationId !== conversationId) {
    Object.assign(collision, { conversationId, me, viewers: [] });
  }
  await say(conversationId, true);
}

/** This agent left the conversation it had open. */
export async function stopViewing(): Promise<void> {
  const id = collision.conversationId;
  Object.assign(collision, { conversationId: null, viewers: [] });
  if (id !== null) await say(id, false);
}

/** "Ana is viewing", "Ana is typing…", "Ana and Bob are viewing". */
export function describeViewers(viewers: Viewer[]): string[] {
  const typing = viewers.filter((v) => v.typing).map((v) => v.name);
  const viewing = viewers.filter((v) => !v.typing && v.viewing).map((v) => v.name);
  const out: string[] = [];
  const join = (names: string[]) =>
    names.length === 1 ? names[0]! : `${names.slice(0, -1).join(", ")} and ${names.at(-1)!}`;
  if (typing.length) out.push(`${join(typing)} ${typing.length === 1 ? "is" : "are"} typing…`);
  if (viewing.length) out.push(`${join(viewing)} ${viewing.length === 1 ? "is" : "are"} viewing`);
  return out;
}
