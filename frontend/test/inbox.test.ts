import { describe, expect, it } from "vitest";
import type { Conversation } from "../src/api/client";
import {
  createInbox,
  DEFAULT_FILTERS,
  FACETS,
  matches,
  query,
  restoreFilters,
  type Context,
  type Facet,
  type Filters,
  type Page,
} from "../src/stores/inbox";

function conversation(id: number, patch: Partial<Conversation> = {}): Conversation {
  const at = new Date(Date.UTC(2026, 0, 1, 10, id)).toISOString();
  return {
    id,
    inbox_id: id % 2 === 0 ? 1 : 2,
    contact_id: id,
    subject: "",
    status: "open",
    priority: "normal",
    assignee_id: null,
    team_id: null,
    custom_fields: {},
    channel_thread_id: null,
    snoozed_until: null,
    created_at: at,
    updated_at: at,
    last_activity_at: at,
    first_response_at: null,
    resolved_at: null,
    tags: [],
    ...patch,
  } as Conversation;
}

const ctx: Context = {
  userId: () => 5,
  teamIds: () => [7],
  channelOf: (inboxId) => (inboxId === 1 ? "email" : inboxId === 2 ? "webchat" : ""),
};
const base: Filters = { tab: "all", facets: {}, q: "" };

describe("inbox filters", () => {
  it("turns tabs, facets and search into the list endpoint's query", () => {
    expect(
      query({ ...base, tab: "mine", facets: { status: ["open"], tag: [" VIP "] }, q: "  refund " }),
    ).toEqual({ assignee: "me", status: ["open"], tag: "vip", q: "refund" });
    expect(query({ ...base, tab: "unassigned" })).toEqual({ assignee: "none" });
    expect(query({ ...base, tab: "teams", facets: { priority: ["high", "urgent"], channel: [] } })).toEqual({
      team: "mine",
      priority: ["high", "urgent"],
    });
    expect(query({ ...base, facets: { channel: ["email"] } })).toEqual({ channel: ["email"] });
    expect(query(base)).toEqual({});
  });

  it("matches tab and every facet", () => {
    const mine = conversation(2, { assignee_id: 5, priority: "high", tags: ["vip"] });
    const theirs = conversation(3, { assignee_id: 6, team_id: 7 });
    const nobody = conversation(4, { team_id: 8 });
    expect(matches(mine, { ...base, tab: "mine" }, ctx)).toBe(true);
    expect(matches(theirs, { ...base, tab: "mine" }, ctx)).toBe(false);
    expect(matches(nobody, { ...base, tab: "unassigned" }, ctx)).toBe(true);
    expect(matches(mine, { ...base, tab: "unassigned" }, ctx)).toBe(false);
    expect(matches(theirs, { ...base, tab: "teams" }, ctx)).toBe(true);
    expect(matches(nobody, { ...base, tab: "teams" }, ctx)).toBe(false);
    expect(matches(mine, { ...base, tab: "teams" }, ctx)).toBe(false);
    expect(matches(theirs, base, ctx)).toBe(true);
    expect(matches(mine, { ...base, facets: { status: ["resolved"] } }, ctx)).toBe(false);
    expect(matches(mine, { ...base, facets: { channel: ["email"] } }, ctx)).toBe(true);
    expect(matches(theirs, { ...base, facets: { channel: ["email"] } }, ctx)).toBe(false);
    expect(matches(mine, { ...base, facets: { priority: ["urgent", "high"] } }, ctx)).toBe(true);
    expect(matches(theirs, { ...base, facets: { priority: ["urgent", "high"] } }, ctx)).toBe(false);
    expect(matches(mine, { ...base, facets: { tag: ["VIP"] } }, ctx)).toBe(true);
    expect(matches(theirs, { ...base, facets: { tag: ["vip"] } }, ctx)).toBe(false);
  });

  it("filters by SLA state, a conversation being in every state one of its targets is in", () => {
    const target = (state: "ok" | "breached") => ({
      kind: "first_response" as const,
      state,
      target_s: 3600,
      started_at: "2026-11-23T09:00:00Z",
      due_at: "2026-11-23T10:00:00Z",
      remaining_s: 0,
      warned_at: null,
      breached_at: null,
      achieved_at: null,
    });
    const late = { ...conversation(2), sla: { policy_id: 1, targets: [target("ok"), target("breached")] } };
    const onTime = { ...conversation(3), sla: { policy_id: 1, targets: [target("ok")] } };
    const filters = { ...base, facets: { sla_state: ["breached"] } };
    expect(query(filters)).toEqual({ sla_state: ["breached"] });
    expect(matches(late as Conversation, filters, ctx)).toBe(true);
    expect(matches(onTime as Conversation, filters, ctx)).toBe(false);
    expect(matches(conversation(4), filters, ctx)).toBe(false); // no SLA at all
    expect(restoreFilters('{"facets":{"sla_state":["breached","nonsense"]}}').facets).toEqual({
      ...DEFAULT_FILTERS.facets,
      sla_state: ["breached"],
    });
  });
});

describe("saved filters", () => {
  it("restores what was valid and nothing else", () => {
    expect(restoreFilters(null)).toEqual(DEFAULT_FILTERS);
    expect(restoreFilters("not json")).toEqual(DEFAULT_FILTERS);
    expect(restoreFilters("42")).toEqual(DEFAULT_FILTERS);
    // What older desktops saved: one value per filter, at the top level.
    expect(restoreFilters('{"tab":"all","status":"","channel":"email","q":"x"}')).toEqual({
      tab: "all",
      facets: { status: [], channel: ["email"] },
      q: "",
    });
    expect(
      restoreFilters('{"tab":"teams","facets":{"priority":["high","evil","high"],"tag":["vip","x"]}}'),
    ).toEqual({ tab: "teams", facets: { status: ["open"], priority: ["high"], tag: ["vip"] }, q: "" });
    expect(restoreFilters('{"tab":"evil","status":"gone"}')).toEqual(DEFAULT_FILTERS);
  });

  it("saves filters as they change", async () => {
    const saved: Filters[] = [];
    const inbox = createInbox(ctx, async () => ({ items: [] }), { save: (f) => saved.push(f) });
    await inbox.setFilters({ tab: "unassigned" });
    expect(saved).toEqual([{ ...DEFAULT_FILTERS, tab: "unassigned" }]);
  });
});

describe("inbox list", () => {
  function setup(pages: Page[]) {
    const calls: [Filters, string | null][] = [];
    const inbox = createInbox(ctx, async (filters, cursor) => {
      calls.push([filters, cursor]);
      return pages.shift() ?? { items: [], next_cursor: null };
    });
    inbox.state.filters = { ...base };
    return { inbox, calls };
  }

  it("pages with the cursor without doubling a conversation", async () => {
    const { inbox, calls } = setup([
      { items: [conversation(9), conversation(8)], next_cursor: "c1" },
      { items: [conversation(8), conversation(7)], next_cursor: null },
    ]);
    await inbox.load();
    await inbox.load(true);
    expect(calls.map((c) => c[1])).toEqual([null, "c1"]);
    expect(inbox.visible.value.map((c) => c.id)).toEqual([9, 8, 7]);
    expect(inbox.state.cursor).toBeNull();
  });

  it("puts a live change in its place and takes out what no longer matches", async () => {
    const { inbox } = setup([{ items: [conversation(3), conversation(2)], next_cursor: null }]);
    inbox.state.filters.facets = { status: ["open"] };
    await inbox.load();
    // A new conversation with the newest activity goes on top.
    inbox.upsert(conversation(4));
    // An older one gets a new message: it moves up.
    inbox.upsert(conversation(2, { last_activity_at: "2026-01-01T11:00:00Z" }));
    expect(inbox.visible.value.map((c) => c.id)).toEqual([2, 4, 3]);
    // Resolved: out of the "open" list.
    inbox.upsert(conversation(3, { status: "resolved" }));
    expect(inbox.visible.value.map((c) => c.id)).toEqual([2, 4]);
  });

  it("leaves a change beyond the loaded pages to 'load more'", async () => {
    const { inbox } = setup([{ items: [conversation(9), conversation(8)], next_cursor: "c1" }]);
    await inbox.load();
    inbox.upsert(conversation(1));
    expect(inbox.visible.value.map((c) => c.id)).toEqual([9, 8]);
  });

  it("keeps a searched list to what the server found", async () => {
    const { inbox } = setup([{ items: [conversation(5)], next_cursor: null }]);
    inbox.state.filters.q = "refund";
    await inbox.load();
    inbox.upsert(conversation(6));
    inbox.upsert(conversation(5, { subject: "changed" }));
    expect(inbox.visible.value.map((c) => [c.id, c.subject])).toEqual([[5, "changed"]]);
  });

  it("drops the answer of a load that newer filters overtook", async () => {
    let release: (p: Page) => void = () => undefined;
    const inbox = createInbox(ctx, (filters) =>
      filters.tab === "mine"
        ? new Promise<Page>((resolve) => (release = resolve))
        : Promise.resolve({ items: [conversation(1)], next_cursor: null }),
    );
    inbox.state.filters = { ...base };
    const slow = inbox.setFilters({ tab: "mine" });
    await inbox.setFilters({ tab: "all" });
    release({ items: [conversation(2, { assignee_id: 5 })], next_cursor: null });
    await slow;
    expect(inbox.visible.value.map((c) => c.id)).toEqual([1]);
  });
});
