// The unified inbox: Mine / Unassigned / All, filtered by status and channel, searched,
// paged with the server's cursor, and kept live: a conversation an event touched is fetched
// again and put in its place, or taken out when it no longer matches.
import { computed, reactive } from "vue";
import type { Conversation, Status } from "../api/client";

export type Tab = "mine" | "unassigned" | "all";

export interface Filters {
  tab: Tab;
  status: Status | "";
  channel: string;
  q: string;
}

export interface Context {
  userId: () => number | null;
  /** The channel of an inbox ("" when unknown). */
  channelOf: (inboxId: number | null) => string;
}

/** The list endpoint's query for these filters (channel is matched here: see `matches`). */
export function query(filters: Filters): {
  assignee?: "me" | "none";
  status?: Status[];
  q?: string;
} {
  const out: { assignee?: "me" | "none"; status?: Status[]; q?: string } = {};
  if (filters.tab === "mine") out.assignee = "me";
  if (filters.tab === "unassigned") out.assignee = "none";
  if (filters.status) out.status = [filters.status];
  const q = filters.q.trim();
  if (q) out.q = q;
  return out;
}

/** Whether a conversation belongs in the list with these filters (search aside: the server
 * decides that, so a searched list only updates conversations it already shows). */
export function matches(c: Conversation, filters: Filters, ctx: Context): boolean {
  if (filters.tab === "mine" && (ctx.userId() === null || c.assignee_id !== ctx.userId())) {
    return false;
  }
  if (filters.tab === "unassigned" && c.assignee_id !== null) return false;
  if (filters.status && c.status !== filters.status) return false;
  if (filters.channel && ctx.channelOf(c.inbox_id) !== filters.channel) return false;
  return true;
}

/** Newest activity first, then the higher id: the server's order. */
export function byActivity(a: Conversation, b: Conversation): number {
  const t = Date.parse(b.last_activity_at) - Date.parse(a.last_activity_at);
  return t !== 0 ? t : b.id - a.id;
}

export interface Page {
  items: Conversation[];
  next_cursor?: string | null;
}

export const DEFAULT_FILTERS: Filters = { tab: "mine", status: "open", channel: "", q: "" };

const TABS: readonly string[] = ["mine", "unassigned", "all"];
const STATUSES: readonly string[] = ["", "open", "pending", "snoozed", "resolved", "closed"];

/** Filters saved earlier (tab, status, channel; never the search), checked field by field. */
export function restoreFilters(saved: string | null): Filters {
  const out = { ...DEFAULT_FILTERS };
  try {
    const data = JSON.parse(saved ?? "{}") as Record<string, unknown>;
    if (typeof data["tab"] === "string" && TABS.includes(data["tab"])) out.tab = data["tab"] as Tab;
    if (typeof data["status"] === "string" && STATUSES.includes(data["status"])) {
      out.status = data["status"] as Status | "";
    }
    if (typeof data["channel"] === "string") out.channel = data["channel"].slice(0, 50);
  } catch {
    // a damaged value: the defaults
  }
  return out;
}

export function createInbox(
  ctx: Context,
  fetchPage: (filters: Filters, cursor: string | null) => Promise<Page>,
  options: { initial?: Filters; save?: (filters: Filters) => void } = {},
) {
  const state = reactive({
    filters: { ...(options.initial ?? DEFAULT_FILTERS) } as Filters,
    items: [] as Conversation[],
    cursor: null as string | null,
    loading: false,
    error: "",
    generation: 0,
  });

  const visible = computed(() => state.items.filter((c) => matches(c, state.filters, ctx)));

  async function load(more = false): Promise<void> {
    const generation = more ? state.generation : ++state.generation;
    state.loading = true;
    state.error = "";
    try {
      const page = await fetchPage({ ...state.filters }, more ? state.cursor : null);
      if (generation !== state.generation) return; // the filters changed meanwhile
      const known = new Set(more ? state.items.map((c) => c.id) : []);
      const fresh = page.items.filter((c) => !known.has(c.id));
      state.items = more ? [...state.items, ...fresh] : fresh;
      state.cursor = page.next_cursor ?? null;
    } catch (err) {
      if (generation === state.generation) state.error = (err as Error).message;
    } finally {
      if (generation === state.generation) state.loading = false;
    }
  }

  function setFilters(patch: Partial<Filters>): Promise<void> {
    Object.assign(state.filters, patch);
    options.save?.({ ...state.filters });
    return load();
  }

  /** A conversation as it is now (from an event): in its place, or out of the list. */
  function upsert(c: Conversation): void {
    const rest = state.items.filter((x) => x.id !== c.id);
    const searched = state.filters.q.trim() !== "";
    const wasShown = rest.length !== state.items.length;
    if (!matches(c, state.filters, ctx) || (searched && !wasShown)) {
      state.items = rest;
      return;
    }
    // Beyond the last loaded page it will come with "load more".
    const last = rest[rest.length - 1];
    if (state.cursor !== null && last && byActivity(c, last) > 0) {
      state.items = rest;
      return;
    }
    state.items = [...rest, c].sort(byActivity);
  }

  function drop(id: number): void {
    state.items = state.items.filter((c) => c.id !== id);
  }

  return { state, visible, load, setFilters, upsert, drop };
}

export type Inbox = ReturnType<typeof createInbox>;
