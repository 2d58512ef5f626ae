import assert from "node:assert/strict";
import { test } from "node:test";
import { Batcher, type Timer } from "../src/batcher.ts";

function manualTimer() {
  const pending: Array<{ fn: () => void; ms: number }> = [];
  const timer: Timer = {
    set: (fn, ms) => {
      const handle = { fn, ms };
      pending.push(handle);
      return handle;
    },
    clear: (handle) => {
      const i = pending.indexOf(handle as { fn: () => void; ms: number });
      if (i >= 0) pending.splice(i, 1);
    },
  };
  const fire = async () => {
    const due = pending.splice(0);
    for (const h of due) h.fn();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { timer, pending, fire };
}

test("nothing is sent before the session, then small batches of at most 20", async () => {
  const { timer, fire } = manualTimer();
  const batches: number[][] = [];
  const b = new Batcher<number>(async (batch) => {
    batches.push(batch);
    return true;
  }, { timer, maxBatch: 20 });
  for (let i = 0; i < 45; i += 1) b.add(i);
  await fire();
  assert.equal(batches.length, 0);
  b.resume();
  await fire();
  assert.deepEqual(batches.map((x) => x.length), [20, 20, 5]);
  assert.deepEqual(batches.flat(), Array.from({ length: 45 }, (_, i) => i));
});

test("a failed batch is kept and goes with the next flush", async () => {
  const { timer, fire } = manualTimer();
  let ok = false;
  const sent: string[][] = [];
  const b = new Batcher<string>(async (batch) => {
    if (!ok) return false;
    sent.push(batch);
    return true;
  }, { timer });
  b.resume();
  b.add("page 1");
  await fire();
  assert.equal(b.pending, 1);
  ok = true;
  b.add("page 2");
  await fire();
  assert.deepEqual(sent, [["page 1", "page 2"]]);
  assert.equal(b.pending, 0);
});

test("the queue is bounded: the oldest go first", () => {
  const b = new Batcher<number>(async () => true, { maxQueued: 3, timer: manualTimer().timer });
  for (let i = 0; i < 5; i += 1) b.add(i);
  assert.equal(b.pending, 3);
});
