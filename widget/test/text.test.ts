import assert from "node:assert/strict";
import { test } from "node:test";
import { textOn, uuid } from "../src/dom.ts";
import { fill, strings } from "../src/i18n.ts";

test("placeholders are filled as text; unknown ones stay", () => {
  assert.equal(fill("{name} is typing…", { name: "<b>Ada</b>" }), "<b>Ada</b> is typing…");
  assert.equal(fill("{n} out of 5 {x}", { n: 4 }), "4 out of 5 {x}");
});

test("locales fall back to English, by language", () => {
  assert.equal(strings("fr-CA").send, "Envoyer");
  assert.equal(strings("de_DE").read, "Gelesen");
  assert.equal(strings("xx").send, "Send");
  assert.equal(strings(undefined).send, "Send");
  assert.equal(strings("fr").csatComment, strings("en").csatComment, "missing keys come from English");
});

test("text on the accent colour stays readable", () => {
  assert.equal(textOn("#2563eb"), "#fff");
  assert.equal(textOn("#000"), "#fff");
  assert.equal(textOn("#fde047"), "#111827");
  assert.equal(textOn("#FFFFFF"), "#111827");
  assert.equal(textOn("not a colour"), "#fff");
});

test("client ids are v4 UUIDs, all different", () => {
  const ids = new Set(Array.from({ length: 200 }, () => uuid()));
  assert.equal(ids.size, 200);
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test("no source file parses markup (text only: textContent and attributes)", async () => {
  const { readdirSync, readFileSync } = await import("node:fs");
  const dir = new URL("../src/", import.meta.url);
  const offenders = readdirSync(dir)
    .filter((name) => name.endsWith(".ts"))
    .filter((name) => /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(/.test(readFileSync(new URL(name, dir), "utf8")));
  assert.deepEqual(offenders, []);
});
