// A ticket form's fields typed as text, one a line: `key`, `key*` (required before
// resolving), `key = default`. A default is read as JSON when it is JSON (`true`, `12`,
// `"12"` for the text 12), else as the text written.
export interface FormFieldLine {
  key: string;
  required: boolean;
  default: unknown;
}

const LINE = /^([a-z][a-z0-9_]*)\s*(\*)?\s*(?:=\s*(.*))?$/;

export function parseFormFields(text: string): FormFieldLine[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const match = LINE.exec(line);
      if (!match) throw new Error(`"${line}": write key, key* or key = default`);
      const [, key = "", star, raw] = match;
      return { key, required: star === "*", default: raw === undefined || raw === "" ? null : parseDefault(raw) };
    });
}

function parseDefault(raw: string): unknown {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === "object" ? raw : value;
  } catch {
    return raw;
  }
}

export function formatFormFields(fields: readonly FormFieldLine[] | undefined): string {
  return (fields ?? [])
    .map((f) => {
      const head = f.key + (f.required ? "*" : "");
      if (f.default === null || f.default === undefined) return head;
      const text = String(f.default);
      // Text that would read back as something else is quoted.
      const quoted = typeof f.default === "string" && parseDefault(text) !== text;
      return `${head} = ${quoted ? JSON.stringify(text) : text}`;
    })
    .join("\n");
}
