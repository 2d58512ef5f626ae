import assert from "node:assert/strict";
import { test } from "node:test";
import { compareIds, type Message } from "../src/protocol.ts";
import { MessageStore } from "../src/store.ts";

let next = 0;
function msg(id: number, extra: Partial<Message> = {}): Message {
  next += 1;
  return {
    id,
    client_id: null,
    conversation_id: 7,
    direction: "outbound",
    body: `message ${id}`,
    sender: { type: "user", name: "Ada" },
    attachments: [],
    status: "sent",
    created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, next)).toISOString(),
    ...extra,
  };
}

const ids = (s: MessageStore) => s.entries().map((e) => e.id);

test("the same message from history, the websocket replay and live is kept once", () => {
  const s = new MessageStore();
  assert.equal(s.upsert(msg(1)), "added");
  assert.equal(s.upsert(msg(2)), "added");
  assert.equal(s.upsert(msg(2)), "unchanged");
  assert.equal(s.upsert(msg(1)), "unchanged");
  assert.deepEqual(ids(s), [1, 2]);
});

test("out-of-order arrivals are shown in id order and resume after the newest", () => {
  const s = new MessageStore();
  for (const id of [3, 1, 5, 2, 4]) s.upsert(msg(id));
  assert.deepEqual(ids(s), [1, 2, 3, 4, 5]);
  assert.equal(s.lastId(), 5);
});

test("ids compare as numbers, also when they come as strings", () => {
  assert.ok(compareIds(9, 10) < 0);
  assert.ok(compareIds("9", "10") < 0);
  assert.ok(compareIds("b", "a") > 0);
  const s = new MessageStore();
  s.upsert(msg(10));
  s.upsert({ ...msg(9), id: "9" });
  assert.deepEqual(ids(s), ["9", 10]);
  assert.equal(s.lastId(), 10);
});

test("a local message is replaced by its confirmation, matched on client_id", () => {
  const s = new MessageStore();
  s.upsert(msg(1));
  s.addLocal("c-1", "hello 👋");
  s.addLocal("c-2", "second");
  assert.deepEqual(
    s.entries().map((e) => e.client_id),
    [null, "c-1", "c-2"],
  );
  assert.equal(s.lastId(), 1, "pending messages do not move the resume point");
  // The websocket delivers the visitor's own message before the POST answers…
  const confirmed = msg(2, { client_id: "c-1", direction: "inbound", body: "hello 👋", sender: { type: "contact" } });
  assert.equal(s.upsert(confirmed), "updated");
  // …and then the POST answer (or a resend's 200) brings the same message again.
  assert.equal(s.upsert(confirmed), "unchanged");
  assert.equal(s.size, 3);
  assert.deepEqual(ids(s), [1, 2, null]);
  assert.equal(s.entries()[1].local, null);
  assert.equal(s.entries()[1].message?.body, "hello 👋");
});

test("a confirmation that arrives first stops a later local copy", () => {
  const s = new MessageStore();
  s.upsert(msg(4, { client_id: "c-9", direction: "inbound" }));
  const entry = s.addLocal("c-9", "again");
  assert.equal(entry.id, 4);
  assert.equal(s.size, 1);
});

test("a reconnect's replay between local and confirmed messages loses and doubles nothing", () => {
  const s = new MessageStore();
  s.upsert(msg(1));
  s.addLocal("a", "offline one");
  // Agent replies while the visitor is offline, the replay brings them after id 1.
  for (const m of [msg(2), msg(3)]) s.upsert(m);
  // The queued message is re-POSTed after the reconnect and confirmed as id 4.
  s.upsert(msg(4, { client_id: "a", direction: "inbound", body: "offline one" }));
  // The replay repeats what the widget already had.
  for (const m of [msg(2), msg(3), msg(4, { client_id: "a", direction: "inbound", body: "offline one" })]) {
    s.upsert(m);
  }
  assert.deepEqual(ids(s), [1, 2, 3, 4]);
  assert.deepEqual(
    s.entries().map((e) => e.message?.body),
    ["message 1", "message 2", "message 3", "offline one"],
  );
});

test("statuses only move forward", () => {
  const s = new MessageStore();
  s.upsert(msg(1, { direction: "inbound", status: "read" }));
  assert.equal(s.upsert(msg(1, { direction: "inbound", status: "sent" })), "unchanged");
  assert.equal(s.entries()[0].message?.status, "read");
});

test("read receipts mark the visitor's messages up to the id", () => {
  const s = new MessageStore();
  s.upsert(msg(1, { direction: "inbound" }));
  s.upsert(msg(2, { direction: "inbound" }));
  s.upsert(msg(3));
  s.upsert(msg(4, { direction: "inbound" }));
  assert.equal(s.markReadUpTo(3), 2);
  assert.deepEqual(
    s.entries().map((e) => e.message?.status),
    ["read", "read", "sent", "sent"],
  );
  assert.equal(s.markReadUpTo(3), 0);
  assert.equal(s.lastOutboundId(), 3);
});

test("local states, failure and removal", () => {
  const s = new MessageStore();
  s.addLocal("x", "hi");
  assert.equal(s.setLocalState("x", "sending"), true);
  assert.equal(s.setLocalState("x", "sending"), false);
  assert.equal(s.setLocalState("x", "failed", "too big"), true);
  assert.equal(s.entries()[0].local?.error, "too big");
  s.removeLocal("x");
  assert.equal(s.size, 0);
  assert.equal(s.setLocalState("nope", "sending"), false);
});

test("waiting for a reply until a person answers (bots and system messages do not count)", () => {
  const s = new MessageStore();
  assert.equal(s.waitingForReply(), false);
  s.upsert(msg(1, { direction: "inbound", sender: { type: "contact" } }));
  assert.equal(s.waitingForReply(), true);
  s.upsert(msg(2, { sender: { type: "system" } }));
  assert.equal(s.waitingForReply(), true);
  s.upsert(msg(3, { sender: { type: "user", name: "Ada" } }));
  assert.equal(s.waitingForReply(), false);
});

test("emoji, right-to-left text and combining marks come through unchanged", () => {
  const s = new MessageStore();
  const body = "👩🏽‍💻 مرحبا e\u0301 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 <b>not bold</b>";
  s.upsert(msg(1, { body }));
  assert.equal(s.entries()[0].message?.body, body);
});
