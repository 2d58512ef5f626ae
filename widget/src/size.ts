// The bundle's size budget (used by scripts/size.ts in `make test`; Node only).
import { gzipSync } from "node:zlib";

export const LIMIT_BYTES = 50 * 1024;

export function gzipSize(data: Uint8Array | string): number {
  return gzipSync(data, { level: 9 }).length;
}

export function checkBudget(
  data: Uint8Array | string,
  limit = LIMIT_BYTES,
): { ok: boolean; raw: number; gzipped: number; report: string } {
  const raw = typeof data === "string" ? Buffer.byteLength(data) : data.length;
  const gzipped = gzipSize(data);
  const ok = gzipped <= limit;
  const kb = (n: number) => (n / 1024).toFixed(1);
  const report =
    `widget.js: ${kb(raw)} KB minified, ${kb(gzipped)} KB gzipped ` +
    `(limit ${kb(limit)} KB)${ok ? "" : " — OVER THE LIMIT"}`;
  return { ok, raw, gzipped, report };
}
