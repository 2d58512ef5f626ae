// Builds the widget into the file omnidesk serves at /widget.js (a minified IIFE).
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const { version } = JSON.parse(readFileSync(`${root}package.json`, "utf8"));
export const OUTFILE = fileURLToPath(new URL("../../omnidesk/channels/webchat/static/widget.js", import.meta.url));

await build({
  entryPoints: [`${root}src/index.ts`],
  outfile: OUTFILE,
  bundle: true,
  format: "iife",
  minify: true,
  target: ["es2019", "chrome80", "firefox78", "safari15", "edge88"],
  legalComments: "none",
  charset: "utf8",
  define: { __VERSION__: JSON.stringify(version) },
  banner: { js: `/* omnidesk widget ${version} | AGPL-3.0-or-later */` },
  logLevel: "warning",
});
console.log(`built ${OUTFILE}`);
