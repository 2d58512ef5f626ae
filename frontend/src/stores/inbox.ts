// The unified inbox: Mine / Unassigned / My teams / All, filtered by facets (status,
// priority, channel, tag, …), searched, paged with the server's cursor, and kept live: a
// conversation an event touched is fetched again and put in its place, or taken out when it
// no longer matches.
//
// Filters are data: one `Facet` per filter of the list endpoint says its query parameter,
// its label, its choices and how to read a conversation's value (for live updates). The
// filter bar, the query, the live matching and the saved filters all come from `FACETS`, so
// a new filter of the list endpoint is one more entry there.
import { computed, reactive } from "vue";
import type { Conversation } from "../api/client";
import type { paths } from "../api/schema";
import { channelLabel } from "../lib/format";

export type Tab = "mine" | "unassigned" | "teams" | "all";

export const TABS: readonly { value: Tab; label: string }[] = [
  { value: "mine", label: "Mine" },
  { value: "unassigned", label: "Unassigned" },
  { value: "teams", label: "My teams" },
  { value: "all", label: "All" },
];

export interface Filters {
  tab: Tab;
  /** Chosen values per facet key (empty or missing: no filter). */
  facets: Record<string, string[]>;
  q: string;
}

export interface Context {
  userId: () => number | null;
  /** The channel of an inbox ("" when unknown). */
  channelOf: (inboxId: number | null) => string;
  /** The caller's teams (the "My teams" tab). */
  teamIds?: () => readonly number[];
  /** The channel types of the account's inboxes (the channel filter's choices). */
  channels?: () => readonly string[];
}

export interface Option {
  value: string;
  label: string;
}

export interface Facet {
  /** The list endpoint's query parameter, also the key in `Filters.facets` and in storage. */
  key: string;
  label: string;
  /** One value (a select), several (checkboxes) or free text (with suggestions). */
  kind: "one" | "many" | "text";
  /** What "no filter" reads as. */
  any: string;
  /** The choices: fixed (checked when filters are restored) or from what is known now. */
  options: readonly Option[] | ((ctx: Context, shown: readonly Conversation[]) => Option[]);
  /** A conversation's value(s) for this facet, for live updates. */
  valueOf: (c: Conversation, ctx: Context) => string | readonly string[] | null | undefined;
  /** How a typed value is cleaned (text facets). */
  normalise?: (value: string) => string;
}

const STATUS_OPTIONS: Option[] = [
  { value: "open", label: "Open" },
  { value: "pending", label: "Pending" },
  { value: "snoozed", label: "Snoozed" },
  { value: "resolved", label: "Resolved" },
  { value: "closed", label: "Closed" },
];

const PRIORITY_OPTIONS: Option[] = [
  { value: "urgent", label: "Urgent" },
  { value: "high", label: "High" },
  { value: "normal", label: "Normal" },
  { value: "low", label: "Low" },
];

const SLA_OPTIONS: Option[] = [
  { value: "breached", label: "Breached" },
  { value: "warning", label: "Due soon" },
  { value: "ok", label: "Running" },
  { value: "paused", label: "Paused" },
  { value: "achieved", label: "Met" },
];

export const FACETS: Facet[] = [
  {
    key: "status",
    label: "Status",
    kind: "one",
    any: "Any status",
    options: STATUS_OPTIONS,
    valueOf: (c) => c.status,
  },
  {
    key: "priority",
    label: "Priority",
    kind: "many",
    any: "Any priority",
    options: PRIORITY_OPTIONS,
    valueOf: (c) => c.priority,
  },
  {
    key: "channel",
    label: "Channel",
    kind: "one",
    any: "Every channel",
    options: (ctx) =>
      [...(ctx.channels?.() ?? [])].sort().map((c) => ({ value: c, label: channelLabel(c) })),
    valueOf: (c, ctx) => ctx.channelOf(c.inbox_id),
  },
  {
    key: "tag",
    label: "Tag",
    kind: "text",
    any: "Any tag",
    options: (_ctx, shown) =>
      [...new Set(shown.flatMap((c) => c.tags ?? []))].sort().map((t) => ({ value: t, label: t })),
    valueOf: (c) => c.tags ?? [],
    normalise: (value) => value.trim().toLowerCase().slice(0, 64),
  },
  {
    key: "sla_state",
    label: "SLA",
    kind: "many",
    any: "Any SLA state",
    options: SLA_OPTIONS,
    // A conversation is in every state one of its targets is in.
    valueOf: (c) => (c.sla?.targets ?? []).map((t) => t.state),
  },
];

export function facetOptions(facet: Facet, ctx: Context, shown: readonly Conversation[]): Option[] {
  return typeof facet.options === "function" ? facet.options(ctx, shown) : [...facet.options];
}

/** The chosen values of a facet, cleaned; [] when none. */
export function chosen(filters: Filters, facet: Facet): string[] {
  const values = filters.facets[facet.key] ?? [];
  const clean = facet.normalise ? values.map(facet.normalise) : values;
  return clean.filter((v) => v !== "");
}

type ListQuery = NonNullable<paths["/api/v1/conversations"]["get"]["parameters"]["query"]>;

/** The list endpoint's query for these filters. */
export function query(filters: Filters, facets: readonly Facet[] = FACETS): ListQuery {
  const out: Record<string, unknown> = {};
  if (filters.tab === "mine") out["assignee"] = "me";
  if (filters.tab === "unassigned") out["assignee"] = "none";
  if (filters.tab === "teams") out["team"] = "mine";
  for (const facet of facets) {
    const values = chosen(filters, facet);
    if (values.length) out[facet.key] = facet.kind === "text" ? values[0] : values;
  }
  const q = filters.q.trim();
  if (q) out["q"] = q;
  return out as ListQuery;
}

/** Whether a conversation belongs in the list with these filters (search aside: the server
 * decides that, so a searched list only updates conversations it already shows). */
export function matches(
  c: Conversation,
  filters: Filters,
  ctx: Context,
  facets: readonly Facet[] = FACETS,
): boolean {
  if (filters.tab === "mine" && (ctx.userId() === null || c.assignee_id !== ctx.userId())) {
    return false;
  }
  if (filters.tab === "unassigned" && c.assignee_id !== null) return false;
  if (filters.tab === "teams" && (c.team_id === null || !(ctx.teamIds?.() ?? []).includes(c.team_id))) {
    return false;
  }
  for (const facet of facets) {
    const wanted = chosen(filters, facet);
    if (!wanted.length) continue;
    const value = facet.valueOf(c, ctx);
    const values: readonly string[] = value == null ? [] : typeof value === "string" ? [value] : value;
    if (!values.some((v) => wanted.includes(v))) return false;
  }
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

export const DEFAULT_FILTERS: Filters = { tab: "mine", facets: { status: ["open"] }, q: "" };

/** Filters saved earlier (tab and facets; never the search), checked value by value. */
export function restoreFilters(saved: string | null, facets: readonly Facet[] = FACETS): Filters {
  const out: Filters = { ...DEFAULT_FILTERS, facets: { ...DEFAULT_FILTERS.facets } };
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(saved ?? "{}") as Record<string, unknown>;
    if (typeof data !== "object" || data === null) return out;
  } catch {
    return out; // a damaged value: the defaults
  }
  if (TABS.some((t) => t.value === data["tab"])) out.tab = data["tab"] as Tab;
  // Older desktops saved the facets at the top level, one value each.
  const given = (typeof data["facets"] === "object" && data["facets"] !== null ? data["facets"] : data) as Record<
    string,
    unknown
  >;
  for (const facet of facets) {
    if (!(facet.key in given)) continue;
    const raw = given[facet.key];
    const list = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === "string");
    const fixed = typeof facet.options === "function" ? null : facet.options.map((o) => o.value);
    const valid = list
      .map((v) => v.slice(0, 64))
      .filter((v) => v !== "" && (fixed === null || fixed.includes(v)));
    if (valid.length === 0 && list.some((v) => v !== "")) continue; // nothing usable: the default
    out.facets[facet.key] = facet.kind === "many" ? [...new Set(valid)] : valid.slice(0, 1);
  }
  return out;
}

export function createInbox(
  ctx: Context,
  fetchPage: (filters: Filters, cursor: string | null) => Promise<Page>,
  options: { initial?: Filters; save?: (filters: Filters) => void } = {},
) {
  const initial = options.initial ?? DEFAULT_FILTERS;
  const state = reactive({
    filters: { ...initial, facets: { ...initial.facets } } as Filters,
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
      const page = await fetchPage(
        { ...state.filters, facets: { ...state.filters.facets } },
        more ? state.cursor : null,
      );
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
    options.save?.({ ...state.filters, facets: { ...state.filters.facets } });
    return load();
  }

  /** One facet's values changed (the others stay). */
  function setFacet(key: string, values: string[]): Promise<void> {
    return setFilters({ facets: { ...state.filters.facets, [key]: values } });
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

  return { state, visible, load, setFilters, setFacet, upsert, drop };
}

export type Inbox = ReturnType<typeof createInbox>;
