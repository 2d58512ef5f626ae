import assert from "node:assert/strict";
import { test } from "node:test";
import { checkAttachment, formatBytes, typeAllowed } from "../src/limits.ts";
import { checkBudget, gzipSize, LIMIT_BYTES } from "../src/size.ts";
import { TypingThrottle } from "../src/typing.ts";

const limits = { max_bytes: 1024 * 1024, types: ["image/*", "application/pdf", ".txt"] };

test("a file over max_bytes is refused before upload", () => {
  assert.deepEqual(checkAttachment({ name: "big.png", size: 1024 * 1024 + 1, type: "image/png" }, limits), {
    code: "too_large",
    maxBytes: 1024 * 1024,
  });
  assert.equal(checkAttachment({ name: "ok.png", size: 1024 * 1024, type: "image/png" }, limits), null);
});

test("types: exact MIME, families and extensions; empty allows any", () => {
  assert.equal(typeAllowed({ name: "a.pdf", size: 1, type: "application/pdf" }, limits.types), true);
  assert.equal(typeAllowed({ name: "a.JPG", size: 1, type: "image/jpeg" }, limits.types), true);
  assert.equal(typeAllowed({ name: "notes.TXT", size: 1, type: "" }, limits.types), true);
  assert.equal(typeAllowed({ name: "a.exe", size: 1, type: "application/x-msdownload" }, limits.types), false);
  assert.equal(typeAllowed({ name: "a.exe", size: 1, type: "application/x-msdownload" }, []), true);
  assert.equal(checkAttachment({ name: "a.exe", size: 1, type: "application/x-msdownload" }, limits)?.code, "type");
  assert.equal(checkAttachment({ name: "a.exe", size: 1, type: "x" }, null), null);
});

test("sizes read well", () => {
  assert.equal(formatBytes(500), "500 B");
  assert.equal(formatBytes(1536), "1.5 KB");
  assert.equal(formatBytes(25 * 1024 * 1024), "25 MB");
});

test("the bundle size check: passes at the limit, fails over it, and says the size", () => {
  assert.equal(LIMIT_BYTES, 50 * 1024);
  const small = checkBudget("a".repeat(10000));
  assert.equal(small.ok, true);
  assert.equal(small.raw, 10000);
  assert.ok(small.gzipped < 200);
  assert.match(small.report, /KB gzipped \(limit 50\.0 KB\)$/);
  // Random bytes do not compress: 60 KB of them is over a 50 KB budget.
  const noise = new Uint8Array(60 * 1024).map(() => Math.floor(Math.random() * 256));
  const big = checkBudget(noise);
  assert.equal(big.ok, false);
  assert.ok(big.gzipped > LIMIT_BYTES);
  assert.match(big.report, /OVER THE LIMIT/);
  assert.equal(checkBudget(noise, gzipSize(noise)).ok, true);
});

test("typing: at most one `true` per interval, one `false` when it stops", () => {
  const t = new TypingThrottle(3000);
  assert.equal(t.input(0), true);
  assert.equal(t.input(1000), false);
  assert.equal(t.input(2999), false);
  assert.equal(t.input(3000), true);
  assert.equal(t.stop(), true);
  assert.equal(t.stop(), false);
  assert.equal(t.input(3100), true, "typing again after a stop is announced at once");
});
