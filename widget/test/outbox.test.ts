import assert from "node:assert/strict";
import { test } from "node:test";
import { Outbox, type KeyValue, type OutboxItem, type SendResult } from "../src/outbox.ts";

class MemoryStorage implements KeyValue {
  data = new Map<string, string>();
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.data.set(key, value);
  }
  removeItem(key: string) {
    this.data.delete(key);
  }
}

/** A server that can be offline, and records every POST it got (with its client_id). */
function server() {
  const received: string[] = [];
  const kept = new Set<string>();
  const state = { online: true, loseAnswers: false };
  const send = async (item: OutboxItem): Promise<SendResult> => {
    await Promise.resolve();
    if (!state.online) return "retry";
    received.push(item.client_id);
    kept.add(item.client_id); // the server keeps one message per client_id
    if (state.loseAnswers) return "retry"; // committed, but the answer never arrived
    return "sent";
  };
  return { received, kept, state, send };
}

test("queued while offline, sent in order with the same client_id when back", async () => {
  const srv = server();
  srv.state.online = false;
  const outbox = new Outbox(srv.send);
  outbox.add({ client_id: "a", body: "one" });
  outbox.add({ client_id: "b", body: "two" });
  let report = await outbox.flush();
  assert.equal(report.blocked, true);
  assert.equal(outbox.length, 2);
  assert.deepEqual(srv.received, []);
  srv.state.online = true;
  report = await outbox.flush();
  assert.deepEqual(report.sent, ["a", "b"]);
  assert.equal(outbox.length, 0);
  assert.deepEqual(srv.received, ["a", "b"]);
});

test("a resend after a lost answer reuses the client_id (the server keeps one)", async () => {
  const srv = server();
  srv.state.loseAnswers = true;
  const outbox = new Outbox(srv.send);
  outbox.add({ client_id: "a", body: "hi" });
  await outbox.flush();
  await outbox.flush();
  srv.state.loseAnswers = false;
  await outbox.flush();
  assert.deepEqual(srv.received, ["a", "a", "a"]);
  assert.equal(srv.kept.size, 1);
  assert.equal(outbox.items().length, 0);
});

test("a message is never sent twice at once, and a flush during a flush goes round again", async () => {
  let inFlight = 0;
  let most = 0;
  const sent: string[] = [];
  let outbox: Outbox;
  const send = async (item: OutboxItem): Promise<SendResult> => {
    inFlight += 1;
    most = Math.max(most, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    if (item.client_id === "a") outbox.add({ client_id: "c", body: "added meanwhile" });
    sent.push(item.client_id);
    inFlight -= 1;
    return "sent";
  };
  outbox = new Outbox(send);
  outbox.add({ client_id: "a", body: "1" });
  outbox.add({ client_id: "b", body: "2" });
  await Promise.all([outbox.flush(), outbox.flush(), outbox.flush()]);
  assert.equal(most, 1);
  assert.deepEqual(sent, ["a", "b", "c"]);
});

test("adding the same client_id twice queues it once", () => {
  const outbox = new Outbox(async () => "sent");
  outbox.add({ client_id: "a", body: "x" });
  outbox.add({ client_id: "a", body: "x" });
  assert.equal(outbox.length, 1);
});

test("a refused message is dropped and the rest still go", async () => {
  const outbox = new Outbox(async (item) => (item.client_id === "bad" ? "drop" : "sent"));
  outbox.add({ client_id: "bad", body: "" });
  outbox.add({ client_id: "ok", body: "fine" });
  const report = await outbox.flush();
  assert.deepEqual(report, { sent: ["ok"], dropped: ["bad"], blocked: false });
});

test("an exception from send is a retry, not a loss", async () => {
  let fail = true;
  const outbox = new Outbox(async () => {
    if (fail) throw new Error("boom");
    return "sent";
  });
  outbox.add({ client_id: "a", body: "x" });
  assert.equal((await outbox.flush()).blocked, true);
  fail = false;
  assert.deepEqual((await outbox.flush()).sent, ["a"]);
  assert.equal(outbox.items().length, 0);
});

test("text messages survive a reload; files stay in memory", async () => {
  const storage = new MemoryStorage();
  const first = new Outbox(async () => "retry", storage, "omnidesk:k:outbox");
  first.add({ client_id: "a", body: "héllo 🌍", pre_chat: { name: "Zoë" } });
  first.add({ client_id: "f", body: "", file: new Blob(["x"]) });
  const again = new Outbox(async () => "sent", storage, "omnidesk:k:outbox");
  assert.deepEqual(
    again.items().map((i) => [i.client_id, i.body, i.pre_chat?.name]),
    [["a", "héllo 🌍", "Zoë"]],
  );
  await again.flush();
  assert.equal(storage.getItem("omnidesk:k:outbox"), null);
});

test("a corrupt stored queue is ignored", () => {
  const storage = new MemoryStorage();
  storage.setItem("k", "{not json");
  assert.equal(new Outbox(async () => "sent", storage, "k").length, 0);
  storage.setItem("k", JSON.stringify([{ client_id: 5 }, { client_id: "x", body: "ok" }]));
  assert.equal(new Outbox(async () => "sent", storage, "k").length, 1);
});
