import { describe, expect, it } from "vitest";
import type { EventOut } from "../src/api/client";
import { EventStream, socketUrl, type SocketLike } from "../src/lib/stream";

class FakeSocket implements SocketLike {
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;
  closed = false;
  constructor(readonly url: string) {}
  close(): void {
    this.closed = true;
  }
  send(): void {}
  frame(data: unknown): void {
    this.onmessage?.({ data: JSON.stringify(data) } as MessageEvent);
  }
  drop(code = 1006): void {
    this.onclose?.({ code } as CloseEvent);
  }
}

function event(id: number, type = "message.received"): EventOut {
  return {
    id,
    type,
    audience: "conversation",
    conversation_id: 1,
    contact_id: 1,
    assignee_id: null,
    team_id: null,
    actor_user_id: null,
    data: {},
    created_at: "2026-01-01T00:00:00Z",
  };
}

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: (() => void)[] = [];
  const seen: number[] = [];
  const states: string[] = [];
  const refused: number[] = [];
  const frames: unknown[] = [];
  const stream = new EventStream({
    url: (last) => (last === null ? "/ws" : `/ws?last_event_id=${last}`),
    open: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    onEvent: (e) => seen.push(e.id),
    onState: (s) => states.push(s),
    onUnauthorized: () => refused.push(1),
    onFrame: (f) => frames.push(f),
    setTimer: (fn) => timers.push(fn),
    clearTimer: () => undefined,
  });
  return { stream, sockets, timers, seen, states, refused, frames };
}

describe("EventStream", () => {
  it("starts from the server's position and delivers live events in order", () => {
    const h = harness();
    h.stream.start();
    expect(h.sockets[0]!.url).toBe("/ws");
    h.sockets[0]!.frame({ type: "hello", user_id: 1, last_event_id: 10 });
    expect(h.stream.state).toBe("live");
    h.sockets[0]!.frame({ type: "event", event: event(11) });
    h.sockets[0]!.frame({ type: "heartbeat", at: "x" });
    h.sockets[0]!.frame({ type: "event", event: event(12) });
    expect(h.seen).toEqual([11, 12]);
  });

  it("hands live-only frames (who is viewing) to onFrame, not as events", () => {
    const h = harness();
    h.stream.start();
    h.sockets[0]!.frame({ type: "hello", user_id: 1, last_event_id: 10 });
    h.sockets[0]!.frame({ type: "conversation.viewers", conversation_id: 1, viewers: [] });
    h.sockets[0]!.frame({ type: "event", event: event(11) });
    h.sockets[0]!.frame({ viewers: [] }); // no type: dropped
    expect(h.frames).toEqual([{ type: "conversation.viewers", conversation_id: 1, viewers: [] }]);
    expect(h.seen).toEqual([11]);
  });

  it("resumes after a drop from the last event it delivered, without duplicates", () => {
    const h = harness();
    h.stream.start();
    h.sockets[0]!.frame({ type: "hello", user_id: 1, last_event_id: 10 });
    h.sockets[0]!.frame({ type: "event", event: event(11) });
    h.sockets[0]!.drop();
    expect(h.stream.state).toBe("offline");
    expect(h.timers).toHaveLength(1);
    h.timers[0]!();
    expect(h.sockets[1]!.url).toBe("/ws?last_event_id=11");
    // The replay, then the same events again live (the server's overlap), then new ones.
    h.sockets[1]!.frame({ type: "hello", user_id: 1, last_event_id: 13 });
    h.sockets[1]!.frame({ type: "event", event: event(12) });
    h.sockets[1]!.frame({ type: "event", event: event(13) });
    h.sockets[1]!.frame({ type: "event", event: event(12) });
    h.sockets[1]!.frame({ type: "event", event: event(13) });
    h.sockets[1]!.frame({ type: "event", event: event(14) });
    expect(h.seen).toEqual([11, 12, 13, 14]);
    expect(h.stream.state).toBe("live");
  });

  it("hands live-only frames on as sent, never as events", () => {
    const h = harness();
    h.stream.start();
    h.sockets[0]!.frame({ type: "hello", user_id: 1, last_event_id: 10 });
    const stats = { type: "routing.stats", stats: { queues: [], agents: [] } };
    h.sockets[0]!.frame(stats);
    h.sockets[0]!.frame({ type: "event", event: event(11) });
    h.sockets[0]!.frame({ type: "event" }); // no event: dropped
    h.sockets[0]!.frame({ stats: {} }); // no type: dropped
    expect(h.frames).toEqual([stats]);
    expect(h.seen).toEqual([11]);
    expect(h.stream.lastEventId).toBe(11); // a live frame moves no position
  });

  it("ignores frames from a socket it replaced and garbage", () => {
    const h = harness();
    h.stream.start();
    const old = h.sockets[0]!;
    old.frame({ type: "hello", user_id: 1, last_event_id: 1 });
    old.drop();
    h.timers[0]!();
    old.frame({ type: "event", event: event(5) });
    h.sockets[1]!.onmessage?.({ data: "not json" } as MessageEvent);
    expect(h.seen).toEqual([]);
  });

  it("backs off between attempts and stops for good", () => {
    const h = harness();
    h.stream.start();
    h.sockets[0]!.drop();
    h.timers[0]!();
    h.sockets[1]!.drop();
    expect(h.timers).toHaveLength(2);
    h.stream.stop();
    h.timers[1]!();
    expect(h.sockets).toHaveLength(2);
  });

  it("stops and says so when the session is gone", () => {
    const h = harness();
    h.stream.start();
    h.sockets[0]!.drop(4401);
    expect(h.refused).toEqual([1]);
    expect(h.timers).toHaveLength(0);
    expect(h.stream.state).toBe("offline");
  });

  it("builds the socket URL from the page's origin", () => {
    const loc = { protocol: "https:", host: "desk.example.com" } as Location;
    expect(socketUrl(null, loc)).toBe("wss://desk.example.com/ws");
    expect(socketUrl(42, loc)).toBe("wss://desk.example.com/ws?last_event_id=42");
  });
});
