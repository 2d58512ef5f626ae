// The initial JavaScript of the agent desktop, gzipped: the scripts index.html loads
// (and their static imports, which Vite lists as modulepreload links). Budget: 300 KB.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";

const BUDGET = 300 * 1024;
const out = fileURLToPath(new URL("../../omnidesk/web/static/app/", import.meta.url));
const html = readFileSync(out + "index.html", "utf8");
const scripts = [...html.matchAll(/(?:src|href)="\/app\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
let total = 0;
for (const file of new Set(scripts)) {
  total += gzipSync(readFileSync(out + file), { level: 9 }).length;
}
const kb = (total / 1024).toFixed(1);
console.log(`agent desktop: initial JavaScript ${kb} KB gzipped (${scripts.length} files, budget 300 KB)`);
if (total > BUDGET) {
  console.error("over budget");
  process.exit(1);
}
