import { flushPromises, mount } from "@vue/test-utils";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../src/api/client";
import {
  bodyOf,
  createCollection,
  errorsFor,
  FieldInvalid,
  formatHolidays,
  formValue,
  getPath,
  parseHolidays,
  setPath,
  type FieldSpec,
  type Resource,
} from "../src/stores/admin";
import LevelsEditor from "../src/components/admin/LevelsEditor.vue";
import ResourceSection from "../src/components/admin/ResourceSection.vue";
import SecretOnce from "../src/components/admin/SecretOnce.vue";

const invalid = (field: string, message: string) =>
  new ApiError(422, { code: "validation_error", message, field });

describe("admin forms", () => {
  it("reads and writes the API's dotted paths", () => {
    const body = {};
    setPath(body, "config.smtp_host", "smtp.example.com");
    setPath(body, "name", "Support");
    expect(body).toEqual({ config: { smtp_host: "smtp.example.com" }, name: "Support" });
    expect(getPath(body, "config.smtp_host")).toBe("smtp.example.com");
    expect(getPath(body, "config.nothing.deeper")).toBeUndefined();
  });

  it("puts a server error on the field it names, the longest known prefix, else on the form", () => {
    const keys = ["name", "required_skills", "config.smtp_host"];
    expect(errorsFor(invalid("required_skills.0.min_level", "too high"), keys)).toEqual({ required_skills: "too high" });
    expect(errorsFor(invalid("config.smtp_host", "bad host"), keys)).toEqual({ "config.smtp_host": "bad host" });
    expect(errorsFor(invalid("config.other", "nope"), keys)).toEqual({ "": "config.other: nope" });
    expect(errorsFor(new Error("offline"), keys)).toEqual({ "": "offline" });
  });

  it("builds a body: passwords only when typed, empty optional settings as null, lines and JSON parsed", () => {
    const fields: FieldSpec[] = [
      { key: "name", label: "Name" },
      { key: "config.smtp_host", label: "Host", nullable: true },
      { key: "config.smtp_port", label: "Port", type: "number" },
      { key: "secrets.smtp_password", label: "Password", type: "password" },
      { key: "config.allowed_origins", label: "Origins", type: "lines" },
      { key: "overflow_steps", label: "Overflow", type: "json" },
      { key: "only_new", label: "New only", only: "create" },
      { key: "hidden", label: "Hidden", show: (v) => v["name"] === "show me" },
    ];
    const values = {
      name: "Support",
      "config.smtp_host": "",
      "config.smtp_port": "",
      "secrets.smtp_password": "",
      "config.allowed_origins": " https://a.example.com \n\nhttps://b.example.com",
      overflow_steps: '[{"after_s": 60}]',
      only_new: "x",
      hidden: "y",
    };
    expect(bodyOf(fields, values, false)).toEqual({
      name: "Support",
      config: { smtp_host: null, smtp_port: null, allowed_origins: ["https://a.example.com", "https://b.example.com"] },
      overflow_steps: [{ after_s: 60 }],
    });
    expect(bodyOf(fields, { ...values, "secrets.smtp_password": "s3cret", "config.smtp_port": 587 }, true)).toMatchObject({
      secrets: { smtp_password: "s3cret" },
      config: { smtp_port: 587 },
      only_new: "x",
    });
    expect(() => bodyOf(fields, { ...values, overflow_steps: "[{" }, false)).toThrow(FieldInvalid);
  });

  it("shows an item's values in the form, and a new item's initial ones", () => {
    const lines: FieldSpec = { key: "config.allowed_origins", label: "Origins", type: "lines", initial: [] };
    const levels: FieldSpec = { key: "required_skills", label: "Skills", type: "levels", levelKey: "min_level" };
    const item = { config: { allowed_origins: ["https://a", "https://b"] }, required_skills: [{ skill_id: 3, min_level: 4 }] };
    expect(formValue(lines, item)).toBe("https://a\nhttps://b");
    expect(formValue(lines, null)).toBe("");
    expect(formValue(levels, item)).toEqual([{ skill_id: 3, min_level: 4 }]);
    expect(formValue({ key: "secret", label: "S", type: "password" }, { secret: "x" })).toBe("");
  });

  it("reads holidays typed one a line, and writes them back the same way", () => {
    const text = "2026-12-25 Christmas\n2026-12-24..2026-12-26 Holidays\n2026-12-31 [09:00-12:00] New Year's Eve";
    const parsed = parseHolidays(text);
    expect(parsed[1]).toEqual({ start: "2026-12-24", end: "2026-12-26", open: [], name: "Holidays" });
    expect(parsed[2]!.open).toEqual([{ start: "09:00", end: "12:00" }]);
    expect(formatHolidays(parsed)).toBe(text);
    expect(() => parseHolidays("Christmas")).toThrow(/write a date/);
  });
});

type Row = { id: number; name: string };

function fakeResource(): Resource<Row> & { rows: Row[] } {
  const rows: Row[] = [{ id: 1, name: "French" }];
  return {
    rows,
    list: vi.fn(async () => [...rows]),
    create: vi.fn(async (body) => {
      if (body["name"] === "") throw invalid("name", "String should have at least 1 character");
      return { id: 2, name: String(body["name"]) };
    }),
    update: vi.fn(async (item, body) => ({ ...item, name: String(body["name"]) })),
    remove: vi.fn(async () => undefined),
  };
}

describe("collections", () => {
  it("lists, creates, changes and deletes, keeping the list in step", async () => {
    const resource = fakeResource();
    const skills = createCollection(resource);
    await skills.ensure();
    await skills.ensure();
    expect(resource.list).toHaveBeenCalledTimes(1);
    await skills.save(null, { name: "Spanish" });
    await skills.save(skills.state.items[0]!, { name: "Français" });
    expect(skills.state.items.map((s) => s.name)).toEqual(["Français", "Spanish"]);
    await skills.remove(skills.state.items[1]!);
    expect(skills.state.items.map((s) => s.name)).toEqual(["Français"]);
  });

  it("keeps an item the API answers a removal with (a revoked token)", async () => {
    const tokens = createCollection<{ id: number; revoked: boolean }>({
      list: async () => [{ id: 1, revoked: false }],
      remove: async (item) => ({ ...item, revoked: true }),
    });
    await tokens.load();
    await tokens.remove(tokens.state.items[0]!);
    expect(tokens.state.items).toEqual([{ id: 1, revoked: true }]);
  });
});

describe("ResourceSection", () => {
  const fields: FieldSpec[] = [
    { key: "name", label: "Name", required: true },
    { key: "description", label: "Description", type: "textarea", initial: "" },
  ];
  function mountSection(resource = fakeResource()) {
    const collection = createCollection(resource);
    const wrapper = mount(ResourceSection<Row>, {
      attachTo: document.body,
      props: {
        id: "skills",
        title: "Skills",
        noun: "skill",
        collection,
        fields,
        columns: [{ label: "Skill", value: (r: Row) => r.name }],
        nameOf: (r: Row) => r.name,
      },
    });
    return { wrapper, resource, collection };
  }

  it("creates an item, showing the server's error next to the offending field", async () => {
    const { wrapper, resource, collection } = mountSection();
    await flushPromises();
    expect(wrapper.text()).toContain("French");
    await wrapper.get("button.primary").trigger("click");
    const name = wrapper.get("#skills-name");
    expect(document.activeElement).toBe(name.element);
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(name.attributes("aria-invalid")).toBe("true");
    expect(name.attributes("aria-describedby")).toBe("skills-name-error");
    expect(wrapper.get("#skills-name-error").text()).toBe("String should have at least 1 character");

    await name.setValue("Spanish");
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(resource.create).toHaveBeenLastCalledWith({ name: "Spanish", description: "" });
    expect(collection.state.items.map((r) => r.name)).toEqual(["French", "Spanish"]);
    expect(wrapper.find("#skills-name-error").exists()).toBe(false);
    expect(wrapper.get("form h3").text()).toBe("Edit Spanish"); // the saved item stays open
    wrapper.unmount();
  });

  it("asks before deleting, and Cancel deletes nothing", async () => {
    const { wrapper, resource } = mountSection();
    await flushPromises();
    await wrapper.get("button[aria-label='Delete French']").trigger("click");
    const dialog = wrapper.get("[role=alertdialog]");
    expect(dialog.text()).toContain("Delete French?");
    expect(resource.remove).not.toHaveBeenCalled();
    await dialog.findAll("button")[1]!.trigger("click");
    expect(wrapper.find("[role=alertdialog]").exists()).toBe(false);
    expect(resource.remove).not.toHaveBeenCalled();

    await wrapper.get("button[aria-label='Delete French']").trigger("click");
    await wrapper.get("[role=alertdialog] button.danger").trigger("click");
    await flushPromises();
    expect(resource.remove).toHaveBeenCalledTimes(1);
    expect(wrapper.text()).toContain("No skill yet.");
    wrapper.unmount();
  });
});

describe("LevelsEditor", () => {
  it("adds skills not yet chosen, changes levels and removes them", async () => {
    const options = [
      { value: 1, label: "French" },
      { value: 2, label: "Billing" },
    ];
    const wrapper = mount(LevelsEditor, {
      props: { label: "Skills", options, levelKey: "level", modelValue: [] },
    });
    const addButton = () => wrapper.findAll("button").find((b) => b.text() === "Add skill")!;
    await addButton().trigger("click");
    let value = wrapper.emitted("update:modelValue")!.at(-1)![0] as Record<string, unknown>[];
    expect(value).toEqual([{ skill_id: 1, level: 5 }]);
    await wrapper.setProps({ modelValue: value });
    await wrapper.get("input[aria-label='Level of French']").setValue("8");
    value = wrapper.emitted("update:modelValue")!.at(-1)![0] as Record<string, unknown>[];
    expect(value).toEqual([{ skill_id: 1, level: 8 }]);
    await wrapper.setProps({ modelValue: [...value, { skill_id: 2, level: 3 }] });
    expect(addButton().attributes("disabled")).toBeDefined(); // every skill is chosen
    await wrapper.get("button[aria-label='Remove French']").trigger("click");
    expect(wrapper.emitted("update:modelValue")!.at(-1)![0]).toEqual([{ skill_id: 2, level: 3 }]);
  });
});

describe("SecretOnce", () => {
  it("copies the secret to the clipboard", async () => {
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const wrapper = mount(SecretOnce, { props: { label: "API token", value: "odk_abc" } });
    expect(wrapper.text()).toContain("shown once");
    await wrapper.get("button").trigger("click");
    await flushPromises();
    expect(writeText).toHaveBeenCalledWith("odk_abc");
    expect(wrapper.text()).toContain("Copied.");
    await wrapper.findAll("button")[1]!.trigger("click");
    expect(wrapper.emitted("dismiss")).toHaveLength(1);
  });
});
