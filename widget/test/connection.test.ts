import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";
import { Connection } from "../src/connection.ts";
import type { Frame, MessageId } from "../src/protocol.ts";

/** Just enough of a browser WebSocket for the connection logic. */
class FakeSocket {
  static readonly OPEN = 1;
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  closed = false;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
  }
  // What the server does:
  accept() {
    this.readyState = 1;
    this.onopen?.();
  }
  frame(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

let after: MessageId | null = null;
let frames: Frame[] = [];
let states: string[] = [];
let refused = 0;
let gone: number[] = [];

function connection(): Connection {
  return new Connection({
    url: (a) => `ws://desk.test/ws?after=${a ?? ""}`,
    after: () => after,
    onFrame: (f) => frames.push(f),
    onState: (s) => states.push(s),
    onRefused: () => {
      refused += 1;
    },
    onGone: (code) => gone.push(code),
  });
}

const last = () => FakeSocket.all[FakeSocket.all.length - 1];

beforeEach(() => {
  (globalThis as { WebSocket?: unknown }).WebSocket = FakeSocket;
  FakeSocket.all = [];
  after = null;
  frames = [];
  states = [];
  refused = 0;
  gone = [];
  mock.timers.enable({ apis: ["setTimeout"] });
});

afterEach(() => {
  mock.timers.reset();
});

test("answers pings, passes other frames on", () => {
  const c = connection();
  c.start();
  last().accept();
  last().frame({ type: "ping" });
  last().frame({ type: "hello", after: 0 });
  assert.deepEqual(last().sent, ['{"type":"pong"}']);
  assert.deepEqual(frames, [{ type: "hello", after: 0 }]);
  assert.deepEqual(states, ["connecting", "open"]);
  c.stop();
});

test("reconnects with back-off, resuming after the newest message held", () => {
  const c = connection();
  c.start();
  assert.equal(last().url, "ws://desk.test/ws?after=");
  last().accept();
  after = 41;
  last().drop();
  assert.equal(FakeSocket.all.length, 1, "not at once");
  mock.timers.tick(1000);
  assert.equal(FakeSocket.all.length, 2);
  assert.equal(last().url, "ws://desk.test/ws?after=41");
  // Failing again waits longer: at least 0.7 × 2 s.
  last().drop();
  mock.timers.tick(1300);
  assert.equal(FakeSocket.all.length, 2);
  mock.timers.tick(700);
  assert.equal(FakeSocket.all.length, 3);
  // A success resets the delay.
  last().accept();
  last().drop();
  mock.timers.tick(1000);
  assert.equal(FakeSocket.all.length, 4);
  c.stop();
});

test("kick reconnects at once (the browser is back online)", () => {
  const c = connection();
  c.start();
  last().drop();
  c.kick();
  assert.equal(FakeSocket.all.length, 2);
  c.kick(); // already connecting: no second socket
  assert.equal(FakeSocket.all.length, 2);
  c.stop();
});

test("a refused token asks for a new session; a gone chat stops trying", () => {
  const c = connection();
  c.start();
  last().drop(4401);
  assert.equal(refused, 1);
  mock.timers.tick(1000);
  assert.equal(FakeSocket.all.length, 2);
  last().drop(4404);
  assert.deepEqual(gone, [4404]);
  mock.timers.tick(60000);
  assert.equal(FakeSocket.all.length, 2);
});

test("silence for a minute means a dead connection: it reconnects", () => {
  const c = connection();
  c.start();
  last().accept();
  mock.timers.tick(59000);
  last().frame({ type: "ping" });
  mock.timers.tick(59000);
  assert.equal(FakeSocket.all.length, 1);
  mock.timers.tick(1000);
  assert.equal(FakeSocket.all.length, 2);
  assert.equal(FakeSocket.all[0].closed, true);
  c.stop();
});

test("stop closes and never reconnects", () => {
  const c = connection();
  c.start();
  last().accept();
  c.stop();
  assert.equal(last().closed, true);
  mock.timers.tick(120000);
  assert.equal(FakeSocket.all.length, 1);
});
