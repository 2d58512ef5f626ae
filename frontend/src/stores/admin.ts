// The admin console's building blocks: a collection of one kind of setting (list, create,
// change, delete through the API), form values keyed by the API's dotted field paths, and
// the server's validation errors mapped back onto those fields.
import { reactive } from "vue";
import { ApiError } from "../api/client";

export type Values = Record<string, unknown>;
/** Field key (a dotted path such as `config.smtp_host`) → message; `""`: the whole form. */
export type Errors = Record<string, string>;

export function getPath(source: unknown, path: string): unknown {
  let here: unknown = source;
  for (const part of path.split(".")) {
    if (here === null || typeof here !== "object") return undefined;
    here = (here as Record<string, unknown>)[part];
  }
  return here;
}

export function setPath(target: Values, path: string, value: unknown): void {
  const parts = path.split(".");
  let here = target;
  for (const part of parts.slice(0, -1)) {
    const next = here[part];
    if (next === null || typeof next !== "object") here[part] = {};
    here = here[part] as Values;
  }
  here[parts[parts.length - 1]!] = value;
}

/**
 * The error of a failed save, on the field it names: the longest field key that the
 * server's `field` starts with (`required_skills.0.min_level` → `required_skills`), else on
 * the form as a whole (key `""`).
 */
export function errorsFor(error: unknown, keys: readonly string[]): Errors {
  if (!(error instanceof ApiError)) {
    return { "": error instanceof Error ? error.message : String(error) };
  }
  const field = error.body.field ?? "";
  const parts = field.split(".");
  for (let n = parts.length; n > 0; n--) {
    const key = parts.slice(0, n).join(".");
    if (keys.includes(key)) return { [key]: error.body.message };
  }
  return { "": field ? `${field}: ${error.body.message}` : error.body.message };
}

export interface Resource<T> {
  list(): Promise<T[]>;
  create?(body: Values): Promise<T>;
  update?(item: T, body: Values): Promise<T>;
  remove?(item: T): Promise<T | void>;
}

export interface Collection<T extends { id: number }> {
  readonly state: { items: T[]; loading: boolean; loaded: boolean; error: string };
  readonly resource: Resource<T>;
  load(): Promise<void>;
  /** Load once (a section's choices: the skills of a queue form…). */
  ensure(): Promise<void>;
  /** Create (item null) or change one; the saved item replaces the listed one. */
  save(item: T | null, body: Values): Promise<T>;
  /** Delete one; a resource that answers with the item (revoked, deactivated) keeps it listed. */
  remove(item: T): Promise<void>;
}

export function createCollection<T extends { id: number }>(resource: Resource<T>): Collection<T> {
  // Items are API rows (plain data): typed as they are, not as Vue's unwrapped refs.
  const state = reactive({ items: [] as unknown[], loading: false, loaded: false, error: "" }) as {
    items: T[];
    loading: boolean;
    loaded: boolean;
    error: string;
  };
  const items = (): T[] => state.items;

  function put(saved: T): void {
    const at = items().findIndex((i) => i.id === saved.id);
    if (at >= 0) items().splice(at, 1, saved);
    else items().push(saved);
  }

  return {
    state,
    resource,
    async load() {
      state.loading = true;
      state.error = "";
      try {
        state.items = await resource.list();
        state.loaded = true;
      } catch (error) {
        state.error = error instanceof Error ? error.message : String(error);
      } finally {
        state.loading = false;
      }
    },
    async ensure() {
      if (!state.loaded && !state.loading) await this.load();
    },
    async save(item, body) {
      let saved: T;
      if (item === null) {
        if (!resource.create) throw new Error("cannot create");
        saved = await resource.create(body);
      } else {
        if (!resource.update) throw new Error("cannot change");
        saved = await resource.update(item, body);
      }
      put(saved);
      return saved;
    },
    async remove(item) {
      if (!resource.remove) throw new Error("cannot delete");
      const left = await resource.remove(item);
      if (left) put(left);
      else state.items = items().filter((i) => i.id !== item.id);
    },
  };
}

/** Copy to the clipboard; false when the browser refuses (the text stays selectable). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** `"09:00-12:00, 13:00-17:00"` ⇄ `[{start, end}, …]`, for opening hours typed as text. */
export function parseIntervals(text: string): { start: string; end: string }[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [start = "", end = ""] = part.split("-").map((s) => s.trim());
      return { start, end };
    });
}

export function formatIntervals(intervals: readonly { start: string; end: string }[] | undefined): string {
  return (intervals ?? []).map((i) => `${i.start}-${i.end}`).join(", ");
}

// Forms --------------------------------------------------------------------------------

export interface Option {
  value: string | number | boolean | null;
  label: string;
}

export type FieldType =
  | "text"
  | "email"
  | "password"
  | "number"
  | "url"
  | "textarea"
  | "select"
  | "checkbox"
  | "checks"
  | "lines"
  | "json"
  | "levels";

export interface FieldSpec {
  /** The API's field path (`config.smtp_host`): where the value goes and errors come from. */
  key: string;
  label: string;
  type?: FieldType;
  help?: string;
  required?: boolean;
  placeholder?: string;
  /** Choices of `select`, `checks` and `levels` (skills). */
  options?: Option[] | (() => Option[]);
  /** `levels`: the name of the level in each entry (`min_level` for queues). */
  levelKey?: "level" | "min_level";
  /** Shown when creating only, or when changing only. */
  only?: "create" | "edit";
  /** Shown while this says so (a channel's own settings). */
  show?: (values: Values) => boolean;
  /** The value of a new item. */
  initial?: unknown;
  /** Text left empty is sent as null (an optional setting), not as "". */
  nullable?: boolean;
  /** Own conversions between the API's value and the form's (opening hours as text…);
   * `fromForm` throws an Error whose message is shown on the field. */
  toForm?: (raw: unknown) => unknown;
  fromForm?: (value: unknown) => unknown;
}

export function optionsOf(spec: FieldSpec): Option[] {
  const options = spec.options;
  return typeof options === "function" ? options() : (options ?? []);
}

export function visibleFields(fields: readonly FieldSpec[], values: Values, creating: boolean): FieldSpec[] {
  return fields.filter(
    (f) => (f.only === undefined || f.only === (creating ? "create" : "edit")) && (f.show?.(values) ?? true),
  );
}

/** The form's value of a field for an item (or a new one): text for lines and JSON. */
export function formValue(spec: FieldSpec, item: unknown): unknown {
  const raw = item === null ? spec.initial : getPath(item, spec.key);
  if (spec.toForm) return spec.toForm(raw);
  switch (spec.type) {
    case "password":
      return "";
    case "checkbox":
      return Boolean(raw);
    case "checks":
      return Array.isArray(raw) ? [...(raw as unknown[])] : [];
    case "lines":
      return Array.isArray(raw) ? (raw as unknown[]).join("\n") : "";
    case "json":
      return JSON.stringify(raw ?? null, null, 2);
    case "levels": {
      const key = spec.levelKey ?? "level";
      return Array.isArray(raw)
        ? (raw as Record<string, unknown>[]).map((r) => ({ skill_id: r["skill_id"], [key]: r[key] }))
        : [];
    }
    case "select":
    case "number":
      return raw ?? (spec.type === "number" ? "" : null);
    default:
      return raw ?? "";
  }
}

export class FieldInvalid extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

/** The request body of a form: each shown field at its path, converted back. A password
 * left empty is not sent (kept as it is). Throws FieldInvalid for JSON that does not parse. */
export function bodyOf(fields: readonly FieldSpec[], values: Values, creating: boolean): Values {
  const body: Values = {};
  for (const spec of visibleFields(fields, values, creating)) {
    const value = values[spec.key];
    if (spec.fromForm) {
      try {
        setPath(body, spec.key, spec.fromForm(value));
      } catch (error) {
        throw new FieldInvalid(spec.key, error instanceof Error ? error.message : String(error));
      }
      continue;
    }
    switch (spec.type) {
      case "password":
        if (value !== "") setPath(body, spec.key, value);
        break;
      case "number":
        setPath(body, spec.key, value === "" || value === null ? null : Number(value));
        break;
      case "lines":
        setPath(
          body,
          spec.key,
          String(value ?? "")
            .split("\n")
            .map((s) => s.trim())
            .filter(Boolean),
        );
        break;
      case "json":
        try {
          setPath(body, spec.key, JSON.parse(String(value || "null")));
        } catch {
          throw new FieldInvalid(spec.key, "not valid JSON");
        }
        break;
      case "text":
      case "email":
      case "url":
      case "textarea":
      case undefined:
        // Left empty: "none" where the API takes null, else the empty text.
        setPath(body, spec.key, value === "" && spec.nullable ? null : value);
        break;
      default:
        setPath(body, spec.key, value);
    }
  }
  return body;
}

export type Holiday = { name: string; start: string; end: string; open: { start: string; end: string }[] };

/** One holiday a line: `2026-12-25 Christmas`, `2026-12-24..2026-12-26 Holidays`,
 * optionally `[10:00-14:00]` when open for part of it. */
export function parseHolidays(text: unknown): Holiday[] {
  return String(text ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const found = /^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?\s*(?:\[([^\]]*)\])?\s*(.*)$/.exec(line);
      if (!found) throw new Error(`"${line}": write a date (2026-12-25) or a range (2026-12-24..2026-12-26), then a name`);
      const [, start, end, open, name] = found;
      return { start: start!, end: end ?? start!, open: parseIntervals(open ?? ""), name: (name ?? "").trim() };
    });
}

export function formatHolidays(raw: unknown): string {
  return ((raw as Holiday[] | undefined) ?? [])
    .map((h) => {
      const dates = h.end && h.end !== h.start ? `${h.start}..${h.end}` : h.start;
      const open = h.open?.length ? ` [${formatIntervals(h.open)}]` : "";
      return `${dates}${open} ${h.name}`.trim();
    })
    .join("\n");
}

