// The composer in a WhatsApp conversation: free text while the 24-hour window is open, and
// once it has closed the reason and the template picker (choose, fill, preview, send).
import { flushPromises, mount } from "@vue/test-utils";
import { beforeEach, describe, expect, it, vi } from "vitest";

const hoisted = vi.hoisted(() => ({
  sendMessage: vi.fn(async (..._args: unknown[]) => undefined),
  sendTemplate: vi.fn(async (..._args: unknown[]) => undefined),
  GET: vi.fn(),
  POST: vi.fn(),
}));

vi.mock("../src/api/client", () => ({
  api: { GET: hoisted.GET, POST: hoisted.POST },
  ok: async (call: Promise<{ data?: unknown; error?: { message: string }; response: { ok: boolean } }>) => {
    const { data, error, response } = await call;
    if (!response.ok) throw new Error(error?.message ?? "failed");
    return data;
  },
  csrfHeaders: () => ({}),
}));

vi.mock("../src/stores/session", () => ({ session: { me: { user: { id: 5 } } } }));

vi.mock("../src/stores/desk", async () => {
  const { reactive } = await import("vue");
  return {
    current: reactive({
      id: 1 as number | null,
      conversation: { id: 1, contact_id: 8, inbox_id: 20, subject: "" } as unknown,
      messages: [] as unknown[],
      events: [],
      error: "",
    }),
    directory: reactive({
      users: new Map(),
      queues: new Map(),
      inboxes: new Map([
        [20, { id: 20, channel_type: "whatsapp", config: {}, capabilities: { reply_window_hours: 24, templates: true } }],
      ]),
      contacts: new Map([[8, { id: 8, name: "Kerry", identities: [{ id: 1, kind: "whatsapp", value: "+16315551181" }] }]]),
    }),
    sendMessage: hoisted.sendMessage,
    sendTemplate: hoisted.sendTemplate,
    typing: () => undefined,
  };
});

const { default: MessageComposer } = await import("../src/components/MessageComposer.vue");
const desk = await import("../src/stores/desk");

const answer = (data: unknown, status = 200) =>
  Promise.resolve({ data, error: status >= 400 ? data : undefined, response: { ok: status < 400, status } });
const hoursAgo = (h: number): string => new Date(Date.now() - h * 3600_000).toISOString();
const inbound = (h: number) => ({ id: 1, direction: "inbound", kind: "message", sender_type: "contact", body: "hi", meta: {}, created_at: hoursAgo(h) });

const TEMPLATES = [
  {
    id: 1,
    name: "order_update",
    language: "en_US",
    category: "UTILITY",
    usable: true,
    variables: ["body.1", "body.2"],
    components: [{ type: "BODY", text: "Hi {{1}}, your order {{2}} is on its way." }],
  },
  { id: 2, name: "welcome_back", language: "en_US", category: "MARKETING", usable: false, variables: ["body.1"], components: [] },
];

beforeEach(() => {
  vi.clearAllMocks();
  hoisted.GET.mockImplementation(() => answer(TEMPLATES));
  hoisted.POST.mockImplementation(() => answer({ text: "Hi Kerry, your order #1042 is on its way." }));
});

describe("MessageComposer on WhatsApp", () => {
  it("takes free text inside the window and says how long it stays open", async () => {
    desk.current.messages = [inbound(2)] as never;
    const wrapper = mount(MessageComposer, { props: { channel: "whatsapp", subject: "" } });
    expect(wrapper.get("[data-testid=reply-window-left]").text()).toMatch(/Free text for 2[12] h \d+ min more/);
    expect(wrapper.get("textarea").attributes("disabled")).toBeUndefined();
    expect(wrapper.find("[data-testid=template-choice]").exists()).toBe(false);
  });

  it("disables free text outside the window, says why, and sends a filled template", async () => {
    desk.current.messages = [inbound(30)] as never;
    const wrapper = mount(MessageComposer, { props: { channel: "whatsapp", subject: "" } });
    await flushPromises();
    expect(wrapper.get("textarea").attributes("disabled")).toBeDefined();
    expect(wrapper.get("[data-testid=reply-window]").text()).toContain("More than 24 hours since the customer last wrote");
    expect(wrapper.get("button[type=submit]").attributes("disabled")).toBeDefined();

    const options = wrapper.findAll("[data-testid=template-choice] option").map((o) => o.text());
    expect(options).toEqual(["Choose an approved template…", "order_update (en_US, utility)"]);
    const select = wrapper.get("[data-testid=template-choice]").element as HTMLSelectElement;
    select.selectedIndex = 1;
    await wrapper.get("[data-testid=template-choice]").trigger("change");
    await wrapper.get("#template-body\\.1").setValue("Kerry");
    expect(wrapper.get("[data-testid=template-draft]").text()).toBe("Hi Kerry, your order {{2}} is on its way.");
    const send = wrapper.findAll("button").find((b) => b.text() === "Send template")!;
    expect(send.attributes("disabled")).toBeDefined();
    await wrapper.get("#template-body\\.2").setValue("#1042");

    await wrapper.findAll("button").find((b) => b.text() === "Preview")!.trigger("click");
    await flushPromises();
    expect(hoisted.POST).toHaveBeenCalledWith("/api/v1/conversations/{conversation_id}/templates/preview", {
      params: { path: { conversation_id: 1 } },
      body: { name: "order_update", language: "en_US", variables: { "body.1": "Kerry", "body.2": "#1042" } },
    });
    expect(wrapper.get("[data-testid=template-draft]").text()).toBe("Hi Kerry, your order #1042 is on its way.");

    await send.trigger("click");
    await flushPromises();
    expect(hoisted.sendTemplate).toHaveBeenCalledWith(1, {
      name: "order_update",
      language: "en_US",
      variables: { "body.1": "Kerry", "body.2": "#1042" },
    });
    expect(hoisted.sendMessage).not.toHaveBeenCalled();
  });

  it("lets an internal note through outside the window", async () => {
    desk.current.messages = [inbound(48)] as never;
    const wrapper = mount(MessageComposer, { props: { channel: "whatsapp", subject: "" } });
    await wrapper.get("input[type=checkbox]").setValue(true);
    expect(wrapper.get("textarea").attributes("disabled")).toBeUndefined();
    expect(wrapper.find("[data-testid=reply-window]").exists()).toBe(false);
    await wrapper.get("textarea").setValue("silent for two days");
    await wrapper.get("form").trigger("submit");
    expect(hoisted.sendMessage).toHaveBeenCalledWith("silent for two days", true, {});
  });
});
