import assert from "node:assert/strict";
import { test } from "node:test";
import { RageClickDetector } from "../src/rage.ts";

function clicks(detector: RageClickDetector, points: Array<[number, number, number]>): boolean[] {
  return points.map(([x, y, t]) => detector.add({ x, y, t }));
}

test("three quick clicks in one place are a rage click", () => {
  const d = new RageClickDetector();
  assert.deepEqual(clicks(d, [[100, 100, 0], [102, 101, 150], [99, 103, 300]]), [false, false, true]);
});

test("a burst is reported once however long it goes on", () => {
  const d = new RageClickDetector();
  const seen = clicks(d, Array.from({ length: 10 }, (_, i): [number, number, number] => [50, 50, i * 100]));
  assert.equal(seen.filter(Boolean).length, 1);
  assert.equal(seen.indexOf(true), 2);
});

test("clicks spread over more than 700 ms are not", () => {
  const d = new RageClickDetector();
  assert.deepEqual(clicks(d, [[10, 10, 0], [10, 10, 400], [10, 10, 800]]), [false, false, false]);
});

test("exactly 700 ms between the first and third still counts", () => {
  const d = new RageClickDetector();
  assert.deepEqual(clicks(d, [[10, 10, 0], [10, 10, 350], [10, 10, 700]]), [false, false, true]);
});

test("clicks more than 30 px apart are not", () => {
  const d = new RageClickDetector();
  assert.deepEqual(clicks(d, [[0, 0, 0], [40, 0, 100], [80, 0, 200]]), [false, false, false]);
  const e = new RageClickDetector();
  // 30 px is within; 31 px is not.
  assert.deepEqual(clicks(e, [[0, 0, 0], [18, 24, 100], [0, 0, 200]]), [false, false, true]);
  const f = new RageClickDetector();
  assert.deepEqual(clicks(f, [[0, 0, 0], [31, 0, 100], [62, 0, 200]]), [false, false, false]);
});

test("a new burst after a pause is reported again", () => {
  const d = new RageClickDetector();
  const first = clicks(d, [[5, 5, 0], [5, 5, 100], [5, 5, 200]]);
  const second = clicks(d, [[5, 5, 2000], [5, 5, 2100], [5, 5, 2200]]);
  assert.deepEqual([...first, ...second], [false, false, true, false, false, true]);
});

test("a burst elsewhere on the page is a new one", () => {
  const d = new RageClickDetector();
  const seen = clicks(d, [[5, 5, 0], [5, 5, 50], [5, 5, 100], [500, 500, 150], [500, 500, 200], [500, 500, 250]]);
  assert.deepEqual(seen, [false, false, true, false, false, true]);
});
