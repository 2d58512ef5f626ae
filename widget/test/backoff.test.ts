import assert from "node:assert/strict";
import { test } from "node:test";
import { Backoff } from "../src/backoff.ts";

test("doubles from 1 s to a 30 s ceiling", () => {
  const backoff = new Backoff({ random: () => 0 });
  const delays = Array.from({ length: 8 }, () => backoff.next());
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test("jitter only shortens a delay, never below (1 - jitter) of it", () => {
  for (const r of [0, 0.25, 0.5, 0.999]) {
    const backoff = new Backoff({ random: () => r, jitter: 0.3 });
    for (let i = 0; i < 10; i += 1) {
      const ceiling = backoff.ceiling();
      const delay = backoff.next();
      assert.ok(delay <= ceiling, `${delay} > ${ceiling}`);
      assert.ok(delay >= Math.floor(ceiling * 0.7), `${delay} < 0.7 × ${ceiling}`);
      assert.ok(delay <= 30000);
    }
  }
});

test("two widgets with different randomness do not retry in step", () => {
  const a = new Backoff({ random: () => 0.1 });
  const b = new Backoff({ random: () => 0.9 });
  a.next();
  b.next();
  assert.notEqual(a.next(), b.next());
});

test("reset starts again at the base delay", () => {
  const backoff = new Backoff({ random: () => 0 });
  backoff.next();
  backoff.next();
  backoff.next();
  assert.equal(backoff.failures, 3);
  backoff.reset();
  assert.equal(backoff.failures, 0);
  assert.equal(backoff.next(), 1000);
});

test("stays finite after very many failures", () => {
  const backoff = new Backoff({ random: () => 0 });
  for (let i = 0; i < 5000; i += 1) backoff.next();
  assert.equal(backoff.next(), 30000);
});
