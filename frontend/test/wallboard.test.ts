import { describe, expect, it, vi } from "vitest";
import type { Agent, Conversation, EventOut } from "../src/api/client";

vi.mock("../src/stores/desk", () => ({ allMessages: vi.fn(async () => []) }));

const { createWallboard, createWatch, duration, percent } = await import("../src/stores/wallboard");
type RoutingStats = import("../src/stores/wallboard").RoutingStats;

const T0 = Date.parse("2026-03-02T09:00:00Z");

function stats(at: string, waiting: number, oldest: number | null = null): RoutingStats {
  return {
    at,
    since: "2026-03-01T09:00:00Z",
    threshold_s: 20,
    queues: [
      {
        queue_id: 1,
        name: "Support",
        waiting,
        oldest_wait_s: oldest,
        answered: 8,
        answered_within_threshold: 6,
        abandoned: 1,
        abandoned_after_threshold: 1,
        service_level: 0.6667,
        service_level_abandon_inclusive: 0.6667,
        abandon_rate: 0.111,
        asa_s: 14.2,
      },
    ],
    agents: [{ presence: "available", agents: 2, longest_in_state_s: 30 }],
  };
}

function agent(userId: number, presence: Agent["presence"], seconds: number): Agent {
  return {
    user_id: userId,
    name: `Agent ${userId}`,
    role: "agent",
    active: true,
    presence,
    reason: null,
    since: "2026-03-02T08:59:00Z",
    time_in_state_s: seconds,
    profile_id: null,
    effective_profile_id: 1,
    skills: [],
    work: [],
  };
}

function event(type: string, data: Record<string, unknown> = {}, conversationId: number | null = null): EventOut {
  return {
    id: 1,
    type,
    audience: "account",
    conversation_id: conversationId,
    contact_id: null,
    assignee_id: null,
    team_id: null,
    actor_user_id: null,
    data,
    created_at: "2026-03-02T09:00:00Z",
  };
}

/** A fetch the test answers when it wants. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

function harness() {
  const clock = { now: T0 };
  const calls = { stats: [] as ReturnType<typeof deferred<RoutingStats>>[], agents: 0 };
  let agents: Agent[] = [agent(5, "available", 60)];
  const board = createWallboard({
    fetchStats: () => {
      const d = deferred<RoutingStats>();
      calls.stats.push(d);
      return d.promise;
    },
    fetchAgents: async () => {
      calls.agents += 1;
      return agents;
    },
    now: () => clock.now,
  });
  return { board, clock, calls, setAgents: (a: Agent[]) => (agents = a) };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("wallboard figures", () => {
  it("formats durations and ratios, with a dash for none yet", () => {
    expect(duration(7.9)).toBe("0:07");
    expect(duration(723)).toBe("12:03");
    expect(duration(3723)).toBe("1:02:03");
    expect(duration(null)).toBe("—");
    expect(percent(0.8734)).toBe("87%");
    expect(percent(null)).toBe("—");
  });

  it("loads, then applies newer routing.stats frames and ignores older ones", async () => {
    const h = harness();
    const loading = h.board.refresh();
    h.calls.stats[0]!.resolve(stats("2026-03-02T09:00:00Z", 1));
    await loading;
    expect(h.board.state.loaded).toBe(true);
    expect(h.board.state.stats?.queues[0]!.waiting).toBe(1);
    expect(h.board.state.agents.map((a) => a.user_id)).toEqual([5]);

    h.board.applyFrame({ type: "routing.stats", stats: stats("2026-03-02T09:00:05Z", 3) });
    expect(h.board.state.stats?.queues[0]!.waiting).toBe(3);
    h.board.applyFrame({ type: "routing.stats", stats: stats("2026-03-02T09:00:01Z", 9) }); // late
    h.board.applyFrame({ type: "conversation.viewers", conversation_id: 1, viewers: [] });
    expect(h.board.state.stats?.queues[0]!.waiting).toBe(3);
  });

  it("counts the oldest wait, longest in state and time in state on, on its own clock", async () => {
    const h = harness();
    const loading = h.board.refresh();
    h.calls.stats[0]!.resolve(stats("2026-03-02T09:00:00Z", 2, 41));
    await loading;
    const queue = h.board.state.stats!.queues[0]!;
    expect(h.board.oldestWait(queue)).toBe(41);
    h.clock.now += 3000;
    expect(h.board.oldestWait(queue)).toBe(41); // until the second ticks
    h.board.tick();
    expect(h.board.oldestWait(queue)).toBe(44);
    expect(h.board.timeInState(h.board.state.agents[0]!)).toBe(63);
    const available = h.board.byPresence().find((c) => c.presence === "available")!;
    expect(h.board.longestInState(available)).toBe(33);
    // Every presence shows, a missing one as zero (and no longest time).
    const offline = h.board.byPresence().find((c) => c.presence === "offline")!;
    expect(offline.agents).toBe(0);
    expect(h.board.longestInState(offline)).toBeNull();
    expect(h.board.byPresence().map((c) => c.presence)).toEqual([
      "available",
      "busy",
      "wrap_up",
      "away",
      "offline",
    ]);
  });

  it("shows a presence change at once and fetches after events that move the figures", async () => {
    const h = harness();
    const loading = h.board.refresh();
    h.calls.stats[0]!.resolve(stats("2026-03-02T09:00:00Z", 0));
    await loading;
    h.clock.now += 10_000;
    h.board.applyEvent(event("agent.presence.changed", { user_id: 5, presence: "away", reason: "Lunch" }));
    const [ada] = h.board.state.agents;
    expect([ada!.presence, ada!.reason]).toEqual(["away", "Lunch"]);
    h.board.tick();
    expect(h.board.timeInState(ada!)).toBe(0);
    expect(h.calls.stats).toHaveLength(2);

    // Not about routing: no fetch.
    h.calls.stats[1]!.resolve(stats("2026-03-02T09:00:10Z", 1));
    await flush();
    h.board.applyEvent(event("message.created", {}, 4));
    h.board.applyEvent(event("contact.updated"));
    expect(h.calls.stats).toHaveLength(2);
    expect(h.board.state.stats?.queues[0]!.waiting).toBe(1);
  });

  it("coalesces a burst of events into one more fetch, and keeps the newest figures", async () => {
    const h = harness();
    h.board.applyEvent(event("work_item.queued"));
    for (let i = 0; i < 5; i++) h.board.applyEvent(event("offer.made"));
    expect(h.calls.stats).toHaveLength(1);
    // A frame lands while the first fetch is out; that fetch's older answer does not undo it.
    h.board.applyFrame({ type: "routing.stats", stats: stats("2026-03-02T09:00:02Z", 4) });
    h.calls.stats[0]!.resolve(stats("2026-03-02T09:00:01Z", 2));
    await flush();
    expect(h.board.state.stats?.queues[0]!.waiting).toBe(4);
    expect(h.calls.stats).toHaveLength(2); // the one more, for the events meanwhile
    h.calls.stats[1]!.resolve(stats("2026-03-02T09:00:03Z", 5));
    await flush();
    expect(h.calls.stats).toHaveLength(2);
    expect(h.board.state.stats?.queues[0]!.waiting).toBe(5);
  });

  it("says what failed, and clears it once a fetch works", async () => {
    const h = harness();
    const first = h.board.refresh();
    h.calls.stats[0]!.reject(new Error("Service unavailable"));
    await first;
    expect(h.board.state.error).toBe("Service unavailable");
    expect(h.board.state.loaded).toBe(true);
    const second = h.board.refresh();
    h.calls.stats[1]!.resolve(stats("2026-03-02T09:00:00Z", 0));
    await second;
    expect(h.board.state.error).toBe("");
  });
});

describe("watching a conversation", () => {
  function conversation(id: number): Conversation {
    return { id, contact_id: 3, inbox_id: 1, status: "open", assignee_id: 5 } as Conversation;
  }

  function watchHarness() {
    const loads: number[] = [];
    const viewing: [number, boolean][] = [];
    const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
    const watch = createWatch({
      load: async (id) => {
        loads.push(id);
        return { conversation: conversation(id), messages: [], events: [] };
      },
      viewing: async (id, on) => {
        viewing.push([id, on]);
        return on ? [{ user_id: 9, name: "Sam", role: "supervisor", viewing: true, typing: false }] : null;
      },
      renewMs: 10_000,
      setTimer: (fn, ms) => {
        const t = { fn, ms, cleared: false };
        timers.push(t);
        return t;
      },
      clearTimer: (t) => ((t as { cleared: boolean }).cleared = true),
    });
    return { watch, loads, viewing, timers };
  }

  it("says it is viewing, renews it, and reloads on the conversation's own events only", async () => {
    const h = watchHarness();
    await h.watch.open(12);
    expect(h.watch.state.conversation?.id).toBe(12);
    expect(h.viewing).toEqual([[12, true]]);
    expect(h.watch.state.viewers.map((v) => v.role)).toEqual(["supervisor"]);
    expect(h.timers.map((t) => t.ms)).toEqual([10_000]);
    h.timers[0]!.fn();
    expect(h.viewing).toEqual([
      [12, true],
      [12, true],
    ]);

    h.watch.applyEvent(event("message.created", {}, 99));
    h.watch.applyEvent(event("message.created", {}, 12));
    await flush();
    expect(h.loads).toEqual([12, 12]);

    h.watch.applyFrame({
      type: "conversation.viewers",
      conversation_id: 12,
      viewers: [{ user_id: 5, name: "Ada", role: "agent", viewing: true, typing: true }],
    });
    h.watch.applyFrame({ type: "conversation.viewers", conversation_id: 99, viewers: [] });
    expect(h.watch.state.viewers.map((v) => v.name)).toEqual(["Ada"]);
  });

  it("leaves the previous conversation when it moves on, and stops when closed", async () => {
    const h = watchHarness();
    await h.watch.open(12);
    await h.watch.open(13);
    expect(h.viewing).toEqual([
      [12, true],
      [12, false],
      [13, true],
    ]);
    expect(h.timers[0]!.cleared).toBe(true);
    h.watch.close();
    expect(h.timers[1]!.cleared).toBe(true);
    expect(h.viewing.at(-1)).toEqual([13, false]);
    h.watch.applyEvent(event("message.created", {}, 13));
    await flush();
    expect(h.loads).toEqual([12, 13]);
  });

  it("shows an error when the conversation cannot be read", async () => {
    const watch = createWatch({
      load: async () => {
        throw new Error("Not found");
      },
      viewing: async () => null,
      setTimer: () => 0,
      clearTimer: () => undefined,
    });
    await watch.open(404);
    expect(watch.state.error).toBe("Not found");
  });
});
