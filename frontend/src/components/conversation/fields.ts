// A conversation's custom fields in the desktop: which to show (its ticket form's, in
// order, else every conversation field), the input for each type, and the server's errors
// (a wrong value, or required fields missing when resolving) put on the fields.
import { reactive } from "vue";
import { api, ApiError, ok, type Schemas } from "../../api/client";

export type Definition = Schemas["AttributeDefinitionOut"];
export type TicketForm = Schemas["TicketFormOut"];

export interface ShownField {
  definition: Definition;
  required: boolean;
}

/** The fields of the conversation's form in its order, else every conversation field;
 * required when the definition or the form says so. */
export function shownFields(definitions: readonly Definition[], form: TicketForm | null): ShownField[] {
  const own = definitions.filter((d) => d.applies_to === "conversation");
  const byKey = new Map(own.map((d) => [d.key, d]));
  if (form) {
    return form.fields.flatMap((f) => {
      const definition = byKey.get(f.key);
      return definition ? [{ definition, required: f.required || definition.required_on_resolve }] : [];
    });
  }
  return own.map((definition) => ({ definition, required: definition.required_on_resolve }));
}

export type InputKind = "text" | "number" | "date" | "select" | "checkbox" | "url";

export function inputKind(type: string): InputKind {
  switch (type) {
    case "number":
      return "number";
    case "date":
      return "date";
    case "list":
      return "select";
    case "boolean":
      return "checkbox";
    case "url":
      return "url";
    default:
      return "text";
  }
}

/** What an input holds for a stored value. */
export function toInput(type: string, value: unknown): string | boolean {
  if (type === "boolean") return value === true;
  return value === null || value === undefined ? "" : String(value);
}

/** The API's value of an input: null clears it; a number stays text if it is not one (the
 * server then says what is wrong, on the field). */
export function fromInput(type: string, value: string | boolean): unknown {
  if (type === "boolean") return value === true;
  const text = String(value);
  if (text.trim() === "") return null;
  if (type === "number") {
    const n = Number(text);
    return Number.isFinite(n) ? n : text;
  }
  return text;
}

/** The values that changed, ready for `PATCH {custom_fields}`. */
export function changedValues(
  fields: readonly ShownField[],
  stored: Record<string, unknown>,
  inputs: Record<string, string | boolean>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { definition } of fields) {
    const key = definition.key;
    if (!(key in inputs)) continue;
    const value = fromInput(definition.type, inputs[key]!);
    const before = stored[key] ?? (definition.type === "boolean" ? false : null);
    if (value !== before) out[key] = value;
  }
  return out;
}

/** Field key → message, from a failed save or resolve; `""`: not about one field. */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return { "": error instanceof Error ? error.message : String(error) };
  const { code, field, message, details } = error.body;
  if (code === "required_fields_missing") {
    const missing = (details as { missing?: unknown } | undefined)?.missing;
    const keys = Array.isArray(missing) ? missing.filter((k): k is string => typeof k === "string") : [];
    return Object.fromEntries([["", message], ...keys.map((k) => [k, "Required before resolving"])]);
  }
  const prefix = "custom_fields.";
  if (field?.startsWith(prefix)) return { [field.slice(prefix.length)]: message };
  return { "": message };
}

/** The last errors of the open conversation's fields, shown by its Details panel; set by
 * whatever failed (Resolve in the actions bar, Save in the panel). */
export const fieldProblems = reactive({
  conversationId: null as number | null,
  errors: {} as Record<string, string>,
});

export function reportProblems(conversationId: number, error: unknown): boolean {
  const errors = fieldErrors(error);
  const onFields = Object.keys(errors).some((k) => k !== "");
  Object.assign(fieldProblems, { conversationId, errors: onFields ? errors : {} });
  return onFields;
}

export function clearProblems(): void {
  Object.assign(fieldProblems, { conversationId: null, errors: {} });
}

// The account's conversation fields and ticket forms, loaded once per desktop ------------

export const catalogue = reactive({
  definitions: [] as Definition[],
  forms: [] as TicketForm[],
  loaded: false,
});

let loading: Promise<void> | null = null;

export function loadCatalogue(): Promise<void> {
  loading ??= (async () => {
    const [definitions, forms] = await Promise.all([
      ok(api.GET("/api/v1/attribute-definitions", { params: { query: { applies_to: "conversation" } } })),
      ok(api.GET("/api/v1/ticket-forms")),
    ]);
    Object.assign(catalogue, { definitions, forms, loaded: true });
  })().catch((error: unknown) => {
    loading = null;
    throw error;
  });
  return loading;
}
