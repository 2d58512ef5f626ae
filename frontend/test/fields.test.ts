// Conversation fields in the desktop (which to show, inputs per type, errors on fields),
// ticket forms' fields as text in the admin console, and their timeline lines.
import { describe, expect, it } from "vitest";
import { ApiError } from "../src/api/client";
import { formatFormFields, parseFormFields } from "../src/components/admin/formFields";
import {
  changedValues,
  fieldErrors,
  fieldProblems,
  fromInput,
  inputKind,
  reportProblems,
  shownFields,
  toInput,
  type Definition,
  type TicketForm,
} from "../src/components/conversation/fields";
import { describeEvent } from "../src/lib/format";

function definition(key: string, type: string, extra: Partial<Definition> = {}): Definition {
  return {
    id: key.length,
    applies_to: "conversation",
    key,
    label: key,
    type,
    options: [],
    required_on_resolve: false,
    created_at: "",
    ...extra,
  };
}

const definitions = [
  definition("order_number", "text"),
  definition("reason", "list", { options: ["Damaged", "Late"] }),
  definition("refund", "boolean", { required_on_resolve: true }),
  definition("plan", "text", { applies_to: "contact" }),
];

const form = {
  id: 1,
  name: "Returns",
  fields: [
    { key: "reason", required: false, default: null },
    { key: "order_number", required: true, default: null },
    { key: "gone", required: true, default: null },
  ],
} as unknown as TicketForm;

describe("conversation fields", () => {
  it("shows the form's fields in its order, else every conversation field", () => {
    expect(shownFields(definitions, form).map((f) => [f.definition.key, f.required])).toEqual([
      ["reason", false],
      ["order_number", true],
    ]);
    expect(shownFields(definitions, null).map((f) => [f.definition.key, f.required])).toEqual([
      ["order_number", false],
      ["reason", false],
      ["refund", true],
    ]);
  });

  it("gives each type its input and converts values both ways", () => {
    expect(["text", "number", "date", "list", "boolean", "url"].map(inputKind)).toEqual([
      "text",
      "number",
      "date",
      "select",
      "checkbox",
      "url",
    ]);
    expect(toInput("boolean", undefined)).toBe(false);
    expect(toInput("number", 12)).toBe("12");
    expect(fromInput("number", "12.5")).toBe(12.5);
    expect(fromInput("number", "twelve")).toBe("twelve"); // the server says what is wrong
    expect(fromInput("text", "  ")).toBeNull();
    expect(fromInput("boolean", true)).toBe(true);
  });

  it("sends only what changed", () => {
    const fields = shownFields(definitions, null);
    const stored = { order_number: "A-1", reason: "Late" };
    const inputs = { order_number: "A-1", reason: "", refund: false };
    expect(changedValues(fields, stored, inputs)).toEqual({ reason: null });
    expect(changedValues(fields, stored, { ...inputs, refund: true })).toEqual({ reason: null, refund: true });
  });

  it("puts the server's errors on the fields", () => {
    const missing = new ApiError(422, {
      code: "required_fields_missing",
      message: "fill in before resolving: order_number, refund",
      field: "custom_fields.order_number",
      details: { missing: ["order_number", "refund"] },
    });
    expect(fieldErrors(missing)).toEqual({
      "": "fill in before resolving: order_number, refund",
      order_number: "Required before resolving",
      refund: "Required before resolving",
    });
    const wrong = new ApiError(422, { code: "validation_error", message: "must be a number", field: "custom_fields.count" });
    expect(fieldErrors(wrong)).toEqual({ count: "must be a number" });
    expect(reportProblems(7, missing)).toBe(true);
    expect(fieldProblems.conversationId).toBe(7);
    expect(fieldProblems.errors["refund"]).toBe("Required before resolving");
    expect(reportProblems(7, new ApiError(409, { code: "conflict", message: "busy" }))).toBe(false);
    expect(fieldProblems.errors).toEqual({});
  });
});

describe("ticket form fields as text", () => {
  it("reads keys, required marks and typed defaults", () => {
    expect(parseFormFields('order_number*\nreason = Damaged\nrefund = true\ncount = 3\ncode = "3"\n\n')).toEqual([
      { key: "order_number", required: true, default: null },
      { key: "reason", required: false, default: "Damaged" },
      { key: "refund", required: false, default: true },
      { key: "count", required: false, default: 3 },
      { key: "code", required: false, default: "3" },
    ]);
    expect(() => parseFormFields("Not a key!")).toThrow(/key\*/);
  });

  it("writes them back so that they read the same", () => {
    const fields = [
      { key: "a", required: true, default: null },
      { key: "b", required: false, default: "3" },
      { key: "c", required: false, default: false },
      { key: "d", required: false, default: "Late" },
    ];
    const text = formatFormFields(fields);
    expect(text).toBe('a*\nb = "3"\nc = false\nd = Late');
    expect(parseFormFields(text)).toEqual(fields);
  });
});

describe("timeline", () => {
  it("says what categorisation applied or suggested", () => {
    expect(
      describeEvent("conversation.categorised", {
        applied: { tags: ["billing"], custom_fields: { category: "Billing" } },
        suggestions: [],
      }),
    ).toBe("Categorised: billing, category = Billing");
    expect(
      describeEvent("conversation.categorised", {
        applied: { tags: [], custom_fields: {} },
        suggestions: [{ tag: "legal", field_key: null }],
      }),
    ).toBe("Suggested: legal");
    expect(describeEvent("conversation.form_applied", {})).toBe("Ticket form applied");
  });
});
