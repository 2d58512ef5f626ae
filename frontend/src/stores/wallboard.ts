// The supervisor's live state: the wallboard (queue and agent statistics), the agent list
// and the conversation being watched.
//
// Figures arrive three ways: a fetch when the screen opens (and when the stream is live
// again), the router's `routing.stats` frames (live only, every few seconds while they
// change), and a fetch after any event that may move them (work queued, offered, taken or
// ended, a presence changed), coalesced so a burst costs one or two fetches. Answers are
// applied only if newer than what is shown (`stats.at`), so a slow fetch never undoes a
// frame. Times that grow by themselves (oldest wait, time in state) are counted on from
// when the figure arrived, on this browser's clock, so they tick without the server's clock.
import { reactive } from "vue";
import {
  api,
  ok,
  type Agent,
  type Conversation,
  type EventOut,
  type Message,
  type Presence,
  type Schemas,
} from "../api/client";
import { coalesce } from "../lib/coalesce";
import type { LiveFrame } from "../lib/stream";
import { allMessages } from "./desk";

export type RoutingStats = Schemas["RoutingStats"];
export type QueueStats = Schemas["QueueStats"];
export type AgentCount = Schemas["AgentCount"];

export const PRESENCES: Presence[] = ["available", "busy", "wrap_up", "away", "offline"];

export const PRESENCE_LABELS: Record<Presence, string> = {
  available: "Available",
  busy: "Busy",
  wrap_up: "Wrap-up",
  away: "Away",
  offline: "Offline",
};

/** Events after which the figures or the agent list may have changed. */
const MOVES_FIGURES = /^(work_item|offer|agent|conversation|routing\.queue|user)\./;

export function movesFigures(event: EventOut): boolean {
  return MOVES_FIGURES.test(event.type);
}

/** "0:07", "12:03", "1:02:03" (seconds, whole). */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** 0.873 → "87%"; none yet → "—". */
export function percent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined ? "—" : `${Math.round(ratio * 100)}%`;
}

export interface WallboardDeps {
  fetchStats: () => Promise<RoutingStats>;
  fetchAgents: () => Promise<Agent[]>;
  /** Browser clock, epoch ms (injected for tests). */
  now?: () => number;
}

export function createWallboard(deps: WallboardDeps) {
  const now = deps.now ?? Date.now;
  const state = reactive({
    stats: null as RoutingStats | null,
    /** When the shown statistics arrived (browser clock, ms). */
    statsAt: 0,
    agents: [] as Agent[],
    /** Per agent: time in state (s) as of `at` (browser clock, ms). */
    inState: new Map<number, { seconds: number; at: number }>(),
    /** Ticks every second while the screen is open (browser clock, ms). */
    now: now(),
    error: "",
    loaded: false,
  });

  function applyStats(stats: RoutingStats): boolean {
    const shown = state.stats;
    if (shown && Date.parse(stats.at) < Date.parse(shown.at)) return false; // older
    state.stats = stats;
    state.statsAt = now();
    state.now = state.statsAt;
    return true;
  }

  function applyAgents(agents: Agent[]): void {
    const at = now();
    state.agents = agents;
    state.inState = new Map(
      agents.map((a) => [a.user_id, { seconds: a.time_in_state_s ?? 0, at }] as const),
    );
  }

  /** Statistics and agents fetched again (one fetch at a time, one more if asked meanwhile). */
  const refresh = coalesce(async (_: null) => {
    try {
      const [stats, agents] = await Promise.all([deps.fetchStats(), deps.fetchAgents()]);
      applyStats(stats);
      applyAgents(agents);
      state.error = "";
    } catch (err) {
      state.error = (err as Error).message;
    } finally {
      state.loaded = true;
    }
  });

  function applyFrame(frame: LiveFrame): void {
    if (frame.type === "routing.stats" && frame["stats"]) {
      applyStats(frame["stats"] as RoutingStats);
    }
  }

  function applyEvent(event: EventOut): void {
    if (!movesFigures(event)) return;
    // A presence change shows at once; the fetch that follows confirms it.
    const userId = event.data["user_id"];
    if (event.type === "agent.presence.changed" && typeof userId === "number") {
      const agent = state.agents.find((a) => a.user_id === userId);
      if (agent) {
        agent.presence = event.data["presence"] as Presence;
        agent.reason = (event.data["reason"] as string | null | undefined) ?? null;
        state.inState.set(userId, { seconds: 0, at: now() });
      }
    }
    void refresh(null);
  }

  function tick(): void {
    state.now = now();
  }

  /** Seconds since `since` (ms) on the browser clock, never negative. */
  const elapsed = (since: number): number => Math.max(0, (state.now - since) / 1000);

  /** The queue's oldest wait, counting on from when the figure arrived. */
  function oldestWait(queue: QueueStats): number | null {
    if (queue.oldest_wait_s === null || queue.oldest_wait_s === undefined) return null;
    return queue.oldest_wait_s + elapsed(state.statsAt);
  }

  /** The longest time in state of the agents counted, counting on. */
  function longestInState(count: AgentCount): number | null {
    return (count.agents ?? 0) > 0 ? (count.longest_in_state_s ?? 0) + elapsed(state.statsAt) : null;
  }

  function timeInState(agent: Agent): number | null {
    const known = state.inState.get(agent.user_id);
    if (!known || agent.since === null) return null;
    return known.seconds + elapsed(known.at);
  }

  /** Agents by presence, every presence shown (a missing one counts zero). */
  function byPresence(): AgentCount[] {
    const counts = new Map((state.stats?.agents ?? []).map((c) => [c.presence, c] as const));
    return PRESENCES.map((p) => counts.get(p) ?? { presence: p, agents: 0, longest_in_state_s: 0 });
  }

  return {
    state,
    refresh: () => refresh(null),
    applyFrame,
    applyEvent,
    applyStats,
    tick,
    oldestWait,
    longestInState,
    timeInState,
    byPresence,
  };
}

export type Wallboard = ReturnType<typeof createWallboard>;

export const wallboard = createWallboard({
  fetchStats: () => ok(api.GET("/api/v1/routing/stats")),
  fetchAgents: () => ok(api.GET("/api/v1/routing/agents")),
});

// Supervisor actions on an agent ----------------------------------------------------------

export async function setAgentPresence(
  userId: number,
  presence: Presence,
  reason: { reason_id?: number; reason?: string } = {},
): Promise<Agent> {
  return ok(
    api.PUT("/api/v1/routing/agents/{user_id}/presence", {
      params: { path: { user_id: userId } },
      body: { presence, ...reason },
    }),
  );
}

export async function signAgentOut(userId: number): Promise<void> {
  await ok(api.POST("/api/v1/users/{user_id}/sign-out", { params: { path: { user_id: userId } } }));
}

// Watching a conversation (read-only) -----------------------------------------------------

export interface Viewer {
  user_id: number;
  name: string;
  role: string;
  viewing: boolean;
  typing: boolean;
}

export interface Watched {
  conversation: Conversation;
  messages: Message[];
  events: EventOut[];
}

export interface WatchDeps {
  load: (id: number) => Promise<Watched>;
  /** Says "I am viewing it" (true, renewed) or "I left" (false). */
  viewing: (id: number, on: boolean) => Promise<Viewer[] | null>;
  /** How often the viewing is renewed (the server forgets it after `viewing_ttl_s`). */
  renewMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/** One conversation watched live: fetched again on each of its events; no writes but viewing. */
export function createWatch(deps: WatchDeps) {
  const setTimer = deps.setTimer ?? ((fn: () => void, ms: number) => setInterval(fn, ms));
  const clearTimer = deps.clearTimer ?? ((h: unknown) => clearInterval(h as number));
  const state = reactive({
    id: null as number | null,
    conversation: null as Conversation | null,
    messages: [] as Message[],
    events: [] as EventOut[],
    viewers: [] as Viewer[],
    error: "",
  });
  let renewal: unknown = null;

  const reload = coalesce(async (id: number) => {
    try {
      const watched = await deps.load(id);
      if (state.id !== id) return;
      Object.assign(state, watched, { error: "" });
    } catch (err) {
      if (state.id === id) state.error = (err as Error).message;
    }
  });

  async function say(id: number, on: boolean): Promise<void> {
    try {
      const viewers = await deps.viewing(id, on);
      if (on && viewers && state.id === id) state.viewers = viewers;
    } catch {
      // the indicator is a convenience: watching goes on without it
    }
  }

  async function open(id: number): Promise<void> {
    if (state.id !== id) {
      close();
      Object.assign(state, { id, conversation: null, messages: [], events: [], viewers: [], error: "" });
      void say(id, true);
      renewal = setTimer(() => void say(id, true), deps.renewMs ?? 10_000);
    }
    await reload(id);
  }

  function close(): void {
    if (renewal !== null) clearTimer(renewal);
    renewal = null;
    const id = state.id;
    state.id = null;
    if (id !== null) void say(id, false);
  }

  function applyEvent(event: EventOut): void {
    if (state.id !== null && event.conversation_id === state.id) void reload(state.id);
  }

  function applyFrame(frame: LiveFrame): void {
    if (frame.type === "conversation.viewers" && frame["conversation_id"] === state.id) {
      state.viewers = (frame["viewers"] as Viewer[] | undefined) ?? [];
    }
  }

  return { state, open, close, applyEvent, applyFrame };
}

export const watch = createWatch({
  load: async (id) => {
    const path = { conversation_id: id };
    const [conversation, messages, events] = await Promise.all([
      ok(api.GET("/api/v1/conversations/{conversation_id}", { params: { path } })),
      allMessages(id),
      ok(api.GET("/api/v1/conversations/{conversation_id}/events", { params: { path } })),
    ]);
    return { conversation, messages, events };
  },
  viewing: async (id, on) => {
    const { data } = await api.POST("/api/v1/conversations/{conversation_id}/viewing", {
      params: { path: { conversation_id: id } },
      body: { viewing: on },
    });
    return data?.viewers ?? null;
  },
});
