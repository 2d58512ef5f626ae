/** Attachment limits from `settings.attachments`, checked before anything is uploaded. */

export interface AttachmentLimits {
  max_bytes: number;
  /** MIME types (`image/png`), families (`image/*`) or extensions (`.pdf`); empty: any. */
  types: string[];
}

export interface FileLike {
  name: string;
  size: number;
  type: string;
}

export type AttachmentProblem =
  | { code: "too_large"; maxBytes: number }
  | { code: "type"; types: string[] };

export function typeAllowed(file: FileLike, types: readonly string[]): boolean {
  if (!types.length) return true;
  const mime = (file.type || "").toLowerCase();
  const name = file.name.toLowerCase();
  return types.some((raw) => {
    const allowed = raw.trim().toLowerCase();
    if (!allowed || allowed === "*" || allowed === "*/*") return true;
    if (allowed.startsWith(".")) return name.endsWith(allowed);
    if (allowed.endsWith("/*")) return mime.startsWith(allowed.slice(0, -1));
    return mime === allowed;
  });
}

export function checkAttachment(
  file: FileLike,
  limits: AttachmentLimits | null | undefined,
): AttachmentProblem | null {
  if (!limits) return null;
  if (limits.max_bytes > 0 && file.size > limits.max_bytes) {
    return { code: "too_large", maxBytes: limits.max_bytes };
  }
  if (!typeAllowed(file, limits.types || [])) return { code: "type", types: limits.types };
  return null;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value >= 10 || Number.isInteger(value) ? Math.round(value) : value.toFixed(1);
  return `${shown} ${units[unit]}`;
}
