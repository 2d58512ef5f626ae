import { flushPromises, mount } from "@vue/test-utils";
import { createMemoryHistory, createRouter } from "vue-router";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Agent, EventOut } from "../src/api/client";
import type { LiveFrame } from "../src/lib/stream";
import type { RoutingStats } from "../src/stores/wallboard";

const T0 = Date.parse("2026-03-02T09:00:00Z");

const hoisted = vi.hoisted(() => ({
  now: 0,
  stats: null as unknown,
  agents: [] as unknown[],
  setPresence: vi.fn(async (..._args: unknown[]) => ({})),
  signOut: vi.fn(async (_id: number) => undefined),
  viewing: vi.fn(async (..._args: unknown[]) => null),
  eventListeners: new Set<(e: unknown) => void>(),
  frameListeners: new Set<(f: unknown) => void>(),
}));

vi.mock("../src/stores/desk", async () => {
  const { reactive } = await import("vue");
  return {
    allMessages: async () => [],
    live: reactive({ stream: "live" }),
    directory: reactive({
      users: new Map([[5, "Ada Agent"]]),
      awayReasons: [{ id: 4, name: "Lunch", created_at: "" }],
    }),
    channelOf: () => "webchat",
    contactName: () => "Zoë Visitor",
    ensureContact: async () => undefined,
    onDeskEvent: (l: (e: unknown) => void) => {
      hoisted.eventListeners.add(l);
      return () => hoisted.eventListeners.delete(l);
    },
    onDeskFrame: (l: (f: unknown) => void) => {
      hoisted.frameListeners.add(l);
      return () => hoisted.frameListeners.delete(l);
    },
  };
});
vi.mock("../src/stores/session", async () => {
  const { reactive } = await import("vue");
  return { session: reactive({ me: { user: { id: 1, name: "Sam", role: "supervisor" } } }) };
});
vi.mock("../src/stores/wallboard", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/stores/wallboard")>();
  return {
    ...real,
    setAgentPresence: hoisted.setPresence,
    signAgentOut: hoisted.signOut,
    wallboard: real.createWallboard({
      fetchStats: async () => structuredClone(hoisted.stats) as RoutingStats,
      fetchAgents: async () => structuredClone(hoisted.agents) as Agent[],
      now: () => hoisted.now,
    }),
    watch: real.createWatch({
      load: async (id) => ({
        conversation: { id, contact_id: 3, inbox_id: 1, status: "open", assignee_id: 5 } as never,
        messages: [
          {
            id: 1,
            kind: "message",
            direction: "inbound",
            sender_type: "contact",
            sender_id: null,
            body: "Where is my parcel?",
            meta: {},
            attachments: [],
            created_at: "2026-03-02T08:59:00Z",
          } as never,
        ],
        events: [],
      }),
      viewing: hoisted.viewing,
      setTimer: () => 0,
      clearTimer: () => undefined,
    }),
  };
});

const { default: SupervisorView } = await import("../src/views/SupervisorView.vue");
const { default: AgentList } = await import("../src/components/supervisor/AgentList.vue");
const { default: WatchView } = await import("../src/components/supervisor/WatchView.vue");
const { createWallboard } = await import("../src/stores/wallboard");

function stats(at: string, waiting: number, oldest: number | null): RoutingStats {
  return {
    at,
    since: "2026-03-01T09:00:00Z",
    threshold_s: 20,
    queues: [
      {
        queue_id: 7,
        name: "Support",
        waiting,
        oldest_wait_s: oldest,
        answered: 12,
        answered_within_threshold: 9,
        abandoned: 2,
        abandoned_after_threshold: 1,
        service_level: 0.6923,
        service_level_abandon_inclusive: 0.6429,
        abandon_rate: 0.14,
        asa_s: 75,
      },
    ],
    agents: [
      { presence: "available", agents: 1, longest_in_state_s: 120 },
      { presence: "away", agents: 1, longest_in_state_s: 30 },
    ],
  };
}

function agent(userId: number, name: string, presence: Agent["presence"], work: number[] = []): Agent {
  return {
    user_id: userId,
    name,
    role: userId === 1 ? "supervisor" : "agent",
    active: true,
    presence,
    reason: presence === "away" ? "Lunch" : null,
    since: "2026-03-02T08:58:00Z",
    time_in_state_s: 120,
    profile_id: null,
    effective_profile_id: 1,
    skills: [],
    work: work.map((id) => ({ conversation_id: id, channel: "webchat", assigned_at: null })),
  };
}

function makeRouter() {
  const empty = { template: "<div />" };
  return createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: "/supervisor", name: "supervisor", component: empty },
      { path: "/supervisor/watch/:id", name: "supervisor-watch", component: empty },
    ],
  });
}

function emitEvent(type: string, data: Record<string, unknown> = {}, conversationId: number | null = null) {
  const event: EventOut = {
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
  for (const l of hoisted.eventListeners) l(event);
}

function emitFrame(frame: LiveFrame) {
  for (const l of hoisted.frameListeners) l(frame);
}

beforeEach(() => {
  vi.clearAllMocks();
  vi.useRealTimers();
  hoisted.now = T0;
  hoisted.stats = stats("2026-03-02T09:00:00Z", 0, null);
  hoisted.agents = [agent(1, "Sam Supervisor", "available"), agent(5, "Ada Agent", "available", [31])];
});

describe("SupervisorView", () => {
  it("shows the queues and agents, and changes live without a reload", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const wrapper = mount(SupervisorView, { global: { plugins: [makeRouter()] } });
    await flushPromises();
    const row = () => wrapper.get('[data-queue="7"]');
    expect(row().get('[data-testid="waiting"]').text()).toBe("0");
    expect(row().text()).toContain("69%");
    expect(row().text()).toContain("64%");
    expect(row().text()).toContain("1:15"); // ASA
    expect(wrapper.get('[data-testid="updated"]').text()).toContain("Updated");
    const available = wrapper.get('.tile[data-presence="available"]');
    expect(available.get('[data-testid="count"]').text()).toBe("1");
    expect(available.text()).toContain("longest 2:00");

    // The router's frame: work is waiting; its oldest wait ticks every second.
    emitFrame({ type: "routing.stats", stats: stats("2026-03-02T09:00:05Z", 2, 9) });
    await flushPromises();
    expect(row().get('[data-testid="waiting"]').text()).toBe("2");
    expect(row().get(".oldest").text()).toBe("0:09");
    hoisted.now += 2000;
    vi.advanceTimersByTime(1000);
    await flushPromises();
    expect(row().get(".oldest").text()).toBe("0:11");

    // An event that moves the figures: fetched again (no frame needed).
    hoisted.stats = stats("2026-03-02T09:00:07Z", 3, 11);
    emitEvent("work_item.queued");
    await flushPromises();
    expect(row().get('[data-testid="waiting"]').text()).toBe("3");

    // Gone from the page: nothing listens any more.
    wrapper.unmount();
    expect(hoisted.eventListeners.size).toBe(0);
    expect(hoisted.frameListeners.size).toBe(0);
  });
});

describe("AgentList", () => {
  async function mountList() {
    const board = createWallboard({
      fetchStats: async () => structuredClone(hoisted.stats) as RoutingStats,
      fetchAgents: async () => structuredClone(hoisted.agents) as Agent[],
      now: () => hoisted.now,
    });
    await board.refresh();
    const wrapper = mount(AgentList, {
      props: { board, reasons: [{ id: 4, name: "Lunch", created_at: "" }], selfId: 1 },
      global: { plugins: [makeRouter()] },
    });
    return { wrapper, board };
  }

  it("shows presence, time in state and load with a link to watch each conversation", async () => {
    const { wrapper } = await mountList();
    const ada = wrapper.get('[data-agent="5"]');
    expect(ada.get('[data-testid="presence"]').text()).toBe("Available");
    expect(ada.text()).toContain("2:00");
    const link = ada.get('a[aria-label="Watch conversation 31 of Ada Agent"]');
    expect(link.attributes("href")).toBe("/supervisor/watch/31");
    // Nobody signs themself out from here.
    expect(wrapper.find('[aria-label="Sign out Sam Supervisor"]').exists()).toBe(false);
  });

  it("sets an agent's presence, away only with the reason chosen", async () => {
    const { wrapper } = await mountList();
    await wrapper.get("#presence-5").setValue("offline");
    expect(hoisted.setPresence).toHaveBeenLastCalledWith(5, "offline");
    await flushPromises();
    hoisted.setPresence.mockClear();

    await wrapper.get("#presence-5").setValue("away");
    expect(hoisted.setPresence).not.toHaveBeenCalled();
    await wrapper.get("#reason-5").setValue("4");
    await wrapper.get('[data-agent="5"] form').trigger("submit");
    expect(hoisted.setPresence).toHaveBeenCalledWith(5, "away", { reason_id: 4 });
  });

  it("signs an agent out only once confirmed, and refreshes the list", async () => {
    const { wrapper } = await mountList();
    await wrapper.get('[aria-label="Sign out Ada Agent"]').trigger("click");
    expect(hoisted.signOut).not.toHaveBeenCalled();
    const ask = wrapper.get('[role="group"][aria-label="Sign Ada Agent out?"]');
    await ask.get("button:not(.danger)").trigger("click"); // Cancel
    expect(wrapper.find('[role="group"]').exists()).toBe(false);
    expect(hoisted.signOut).not.toHaveBeenCalled();

    await wrapper.get('[aria-label="Sign out Ada Agent"]').trigger("click");
    hoisted.agents = [agent(1, "Sam Supervisor", "available"), agent(5, "Ada Agent", "offline")];
    await wrapper.get("button.danger").trigger("click");
    await flushPromises();
    expect(hoisted.signOut).toHaveBeenCalledWith(5);
    expect(wrapper.get('[data-agent="5"] [data-testid="presence"]').text()).toBe("Offline");
  });

  it("says what went wrong", async () => {
    const { wrapper } = await mountList();
    hoisted.setPresence.mockRejectedValueOnce(new Error("agents may set only their own presence"));
    await wrapper.get("#presence-5").setValue("offline");
    await flushPromises();
    expect(wrapper.get('[role="alert"]').text()).toBe(
      "Ada Agent: agents may set only their own presence",
    );
  });
});

describe("WatchView", () => {
  it("shows the conversation read-only, live, and says it is viewing", async () => {
    const wrapper = mount(WatchView, { props: { id: "31" }, global: { plugins: [makeRouter()] } });
    await flushPromises();
    expect(wrapper.get("h2").text()).toContain("Watching Zoë Visitor");
    expect(wrapper.text()).toContain("Ada Agent");
    expect(wrapper.text()).toContain("Read-only");
    expect(wrapper.get('[aria-label="Timeline"]').text()).toContain("Where is my parcel?");
    expect(wrapper.find("textarea").exists()).toBe(false);
    expect(wrapper.findAll("button")).toHaveLength(0);
    expect(hoisted.viewing).toHaveBeenCalledWith(31, true);

    emitFrame({
      type: "conversation.viewers",
      conversation_id: 31,
      viewers: [
        { user_id: 1, name: "Sam", role: "supervisor", viewing: true, typing: false },
        { user_id: 5, name: "Ada Agent", role: "agent", viewing: true, typing: true },
      ],
    });
    await flushPromises();
    expect(wrapper.get(".viewers").text()).toBe("Also here: Ada Agent (agent, typing)");

    wrapper.unmount();
    expect(hoisted.viewing).toHaveBeenLastCalledWith(31, false);
    expect(hoisted.eventListeners.size).toBe(0);
  });
});

