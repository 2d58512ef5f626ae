// The conversation view: composer (chat, email, SMS, "/" and "@", attachments, collision
// warning), the collision indicator's state, the actions bar and the transfer dialog.
import { flushPromises, mount } from "@vue/test-utils";
import { reactive } from "vue";
import { beforeEach, describe, expect, it, vi } from "vitest";

const hoisted = vi.hoisted(() => ({
  sendMessage: vi.fn(async (..._args: unknown[]) => undefined),
  updateConversation: vi.fn(async (..._args: unknown[]) => undefined),
  listMacros: vi.fn(async () => [] as unknown[]),
  applyMacro: vi.fn(async (..._args: unknown[]) => undefined),
  GET: vi.fn(),
  POST: vi.fn(),
  upload: vi.fn(),
  frames: [] as ((frame: { type: string; [key: string]: unknown }) => void)[],
}));

vi.mock("../src/api/client", () => {
  class ApiError extends Error {
    constructor(
      readonly status: number,
      readonly body: { code: string; message: string },
    ) {
      super(body.message);
    }
  }
  return {
    ApiError,
    api: { GET: hoisted.GET, POST: hoisted.POST },
    ok: async (call: Promise<{ data?: unknown; error?: { message: string }; response: { ok: boolean; status: number } }>) => {
      const { data, error, response } = await call;
      if (!response.ok) throw new ApiError(response.status, { code: "x", message: error?.message ?? "failed" });
      return data;
    },
    csrfHeaders: () => ({}),
  };
});

vi.mock("../src/stores/session", () => ({ session: { me: { user: { id: 5 } } } }));

vi.mock("../src/stores/desk", async () => {
  const { reactive } = await import("vue");
  const current = reactive({
    id: 1 as number | null,
    conversation: null as unknown,
    messages: [] as unknown[],
    events: [],
    error: "",
  });
  return {
    current,
    directory: reactive({
      users: new Map([
        [3, "Ann Smith"],
        [4, "Bob Jones"],
        [5, "Me Myself"],
      ]),
      queues: new Map([[2, "Billing queue"]]),
      inboxes: new Map([
        [10, { id: 10, channel_type: "email", config: { address: "support@acme.example.com" }, forwarding_address: "inbox-10-abc@in.example.com" }],
      ]),
      contacts: new Map([
        [
          8,
          {
            id: 8,
            name: "Carla",
            identities: [
              { id: 2, kind: "email", value: "carla@customer.example.com" },
              { id: 1, kind: "phone", value: "+15550001" },
            ],
          },
        ],
      ]),
    }),
    sendMessage: hoisted.sendMessage,
    updateConversation: hoisted.updateConversation,
    listMacros: hoisted.listMacros,
    applyMacro: hoisted.applyMacro,
    typing: () => undefined,
    onDeskFrame: (listener: (frame: { type: string }) => void) => {
      hoisted.frames.push(listener);
      return () => hoisted.frames.splice(hoisted.frames.indexOf(listener), 1);
    },
  };
});

vi.mock("../src/components/conversation/uploads", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../src/components/conversation/uploads")>()),
  uploadFile: hoisted.upload,
}));

const { default: MessageComposer } = await import("../src/components/MessageComposer.vue");
const { default: ActionsBar } = await import("../src/components/conversation/ActionsBar.vue");
const { default: ViewersChips } = await import("../src/components/conversation/ViewersChips.vue");
const { default: TransferDialog } = await import("../src/components/conversation/TransferDialog.vue");
const desk = await import("../src/stores/desk");
const viewers = await import("../src/components/conversation/viewers");
const { uploadFile } = await vi.importActual<typeof import("../src/components/conversation/uploads")>(
  "../src/components/conversation/uploads",
);
const addressing = await import("../src/components/conversation/addressing");
const { snoozeChoices, localInputValue } = await import("../src/components/conversation/snooze");

const answer = (data: unknown, status = 200) =>
  Promise.resolve({ data, error: status >= 400 ? data : undefined, response: { ok: status < 400, status } });

function message(id: number, extra: Record<string, unknown> = {}): never {
  return ({
    id,
    conversation_id: 1,
    direction: "inbound",
    kind: "message",
    sender_type: "contact",
    sender_id: 8,
    body: "hi",
    meta: {},
    created_at: "2026-01-01T10:00:00Z",
    ...extra,
  }) as never;
}

beforeEach(() => {
  vi.clearAllMocks();
  desk.current.id = 1;
  desk.current.conversation = { id: 1, contact_id: 8, inbox_id: 10, subject: "Kettle", priority: "normal", status: "open", assignee_id: null } as never;
  desk.current.messages = [];
  Object.assign(viewers.collision, { conversationId: null, me: 5, viewers: [] });
  hoisted.GET.mockImplementation((path: string) => {
    if (path === "/api/v1/canned-responses") {
      return answer({
        items: [
          { id: 1, shortcut: "refund", title: "Refund on its way" },
          { id: 2, shortcut: "hello", title: "Greeting" },
        ],
        next_cursor: null,
      });
    }
    if (path === "/api/v1/teams") return answer([{ id: 6, name: "Billing", description: "" }]);
    return answer(null, 404);
  });
  hoisted.POST.mockImplementation((path: string) => {
    if (path.endsWith("/render")) return answer({ text: "Your refund, Carla, is on its way.", missing: [] });
    return answer({}, 202);
  });
});

describe("MessageComposer in chat", () => {
  it("sends on Enter and keeps Shift+Enter for a new line", async () => {
    const wrapper = mount(MessageComposer, { props: { channel: "webchat", subject: "" } });
    const box = wrapper.get("textarea");
    await box.setValue("Hello\nthere");
    await box.trigger("keydown", { key: "Enter", shiftKey: true });
    expect(hoisted.sendMessage).not.toHaveBeenCalled();
    await box.trigger("keydown", { key: "Enter" });
    expect(hoisted.sendMessage).toHaveBeenCalledWith("Hello\nthere", false, {});
  });

  it("inserts a canned response rendered for the conversation with / and the keyboard", async () => {
    const wrapper = mount(MessageComposer, { props: { channel: "webchat", subject: "" } });
    const box = wrapper.get("textarea");
    await box.setValue("Hi! /");
    await box.trigger("input");
    await flushPromises();
    expect(wrapper.get("[role=listbox]").text()).toContain("/refund");
    await box.setValue("Hi! /he");
    await box.trigger("input");
    const options = wrapper.findAll("[role=option]");
    expect(options.map((o) => o.text())).toEqual(["/helloGreeting"]);
    await box.setValue("Hi! /");
    await box.trigger("input");
    await box.trigger("keydown", { key: "ArrowDown" });
    expect(box.attributes("aria-activedescendant")).toBe("composer-picker-1");
    await box.trigger("keydown", { key: "ArrowUp" });
    await box.trigger("keydown", { key: "Enter" });
    await flushPromises();
    expect(hoisted.POST).toHaveBeenCalledWith(
      "/api/v1/conversations/{conversation_id}/canned-responses/{canned_response_id}/render",
      { params: { path: { conversation_id: 1, canned_response_id: 1 } } },
    );
    expect((box.element as HTMLTextAreaElement).value).toBe("Hi! Your refund, Carla, is on its way.");
    expect(wrapper.find("[role=listbox]").exists()).toBe(false);
    expect(hoisted.sendMessage).not.toHaveBeenCalled(); // Enter chose, it did not send
  });

  it("closes the list on Escape and leaves a slash inside a word alone", async () => {
    const wrapper = mount(MessageComposer, { props: { channel: "webchat", subject: "" } });
    const box = wrapper.get("textarea");
    await box.setValue("/re");
    await box.trigger("input");
    await flushPromises();
    await box.trigger("keydown", { key: "Escape" });
    expect(wrapper.find("[role=listbox]").exists()).toBe(false);
    await box.setValue("/ref");
    await box.trigger("input");
    expect(wrapper.find("[role=listbox]").exists()).toBe(false); // dismissed for this word
    await box.setValue("and/or");
    await box.trigger("input");
    expect(wrapper.find("[role=listbox]").exists()).toBe(false);
  });

  it("mentions a user in a note with @ and sends their id", async () => {
    const wrapper = mount(MessageComposer, { props: { channel: "webchat", subject: "" } });
    await wrapper.get("input[type=checkbox]").setValue(true);
    const box = wrapper.get("textarea");
    await box.setValue("Please check @an");
    await box.trigger("input");
    expect(wrapper.findAll("[role=option]").map((o) => o.text())).toEqual(["Ann Smith"]);
    await box.trigger("keydown", { key: "Tab" });
    await flushPromises();
    expect((box.element as HTMLTextAreaElement).value).toBe("Please check @Ann Smith ");
    await box.setValue("Please check @Ann Smith today");
    await wrapper.get("form").trigger("submit");
    expect(hoisted.sendMessage).toHaveBeenCalledWith("Please check @Ann Smith today", true, { mentions: [3] });
  });

  it("does not offer mentions in a reply", async () => {
    const wrapper = mount(MessageComposer, { props: { channel: "webchat", subject: "" } });
    const box = wrapper.get("textarea");
    await box.setValue("@an");
    await box.trigger("input");
    expect(wrapper.find("[role=listbox]").exists()).toBe(false);
  });

  it("warns before sending while someone else types, and sends when told to", async () => {
    Object.assign(viewers.collision, { conversationId: 1, me: 5 });
    viewers.applyViewers({
      conversation_id: 1,
      viewers: [
        { user_id: 3, name: "Ann Smith", role: "agent", viewing: true, typing: true, expires_in_s: 6 },
        { user_id: 5, name: "Me Myself", role: "agent", viewing: true, typing: false, expires_in_s: 30 },
      ],
    });
    const wrapper = mount(MessageComposer, { props: { channel: "webchat", subject: "" } });
    await wrapper.get("textarea").setValue("On it");
    await wrapper.get("form").trigger("submit");
    expect(hoisted.sendMessage).not.toHaveBeenCalled();
    expect(wrapper.get(".warning").text()).toContain("Ann Smith is typing");
    await wrapper.get(".warning button").trigger("click");
    expect(hoisted.sendMessage).toHaveBeenCalledWith("On it", false, {});
  });

  it("warns when the customer wrote again while the agent was writing", async () => {
    desk.current.messages = [message(1)];
    const wrapper = mount(MessageComposer, { props: { channel: "webchat", subject: "" } });
    const box = wrapper.get("textarea");
    await box.setValue("Sure");
    await box.trigger("input");
    desk.current.messages = [message(1), message(2)];
    await wrapper.get("form").trigger("submit");
    expect(wrapper.get(".warning").text()).toContain("customer wrote again");
    expect(hoisted.sendMessage).not.toHaveBeenCalled();
  });
});

describe("MessageComposer attachments", () => {
  it("uploads a chosen file with progress and sends it by id", async () => {
    let finish: (value: unknown) => void = () => undefined;
    hoisted.upload.mockImplementation((_file: File, progress: (f: number) => void) => {
      progress(0.5);
      return new Promise((resolve) => (finish = resolve));
    });
    const wrapper = mount(MessageComposer, { props: { channel: "webchat", subject: "" } });
    const input = wrapper.get("input[type=file]");
    Object.defineProperty(input.element, "files", { value: [new File(["x"], "photo.png")], configurable: true });
    await input.trigger("change");
    expect(wrapper.get("progress").attributes("aria-label")).toBe("Uploading photo.png");
    expect(wrapper.get("button[type=submit]").attributes("disabled")).toBeDefined();
    finish({ id: 42, filename: "photo.png" });
    await flushPromises();
    expect(wrapper.find("progress").exists()).toBe(false);
    await wrapper.get("form").trigger("submit");
    expect(hoisted.sendMessage).toHaveBeenCalledWith("", false, { attachment_ids: [42] });
  });

  it("shows a refused upload and can drop it; files also come by drop", async () => {
    hoisted.upload.mockRejectedValue(new Error("attachments may be at most 1024 bytes"));
    const wrapper = mount(MessageComposer, { props: { channel: "webchat", subject: "" } });
    await wrapper.get("form").trigger("drop", { dataTransfer: { files: [new File(["x"], "huge.zip")] } });
    await flushPromises();
    expect(wrapper.get(".uploads [role=alert]").text()).toBe("attachments may be at most 1024 bytes");
    await wrapper.get("button[aria-label='Remove huge.zip']").trigger("click");
    expect(wrapper.find(".uploads").exists()).toBe(false);
  });
});

describe("MessageComposer for SMS and email", () => {
  it("counts SMS segments", async () => {
    const wrapper = mount(MessageComposer, { props: { channel: "sms", subject: "" } });
    await wrapper.get("textarea").setValue("a".repeat(161));
    expect(wrapper.get("[data-testid=segments]").text()).toContain("161 characters · 2 SMS (GSM-7, 145 left)");
    await wrapper.get("textarea").setValue("Merci ç");
    expect(wrapper.get("[data-testid=segments]").text()).toContain("UCS-2");
  });

  it("sends no files by SMS (text only), but a note may carry them", async () => {
    hoisted.upload.mockResolvedValue({ id: 7, filename: "box.jpg" });
    const wrapper = mount(MessageComposer, { props: { channel: "sms", subject: "" } });
    const input = wrapper.get("input[type=file]");
    Object.defineProperty(input.element, "files", { value: [new File(["x"], "box.jpg")], configurable: true });
    await input.trigger("change");
    await flushPromises();
    await wrapper.get("textarea").setValue("See the picture");
    await wrapper.get("form").trigger("submit");
    expect(hoisted.sendMessage).not.toHaveBeenCalled();
    expect(wrapper.get(".error[role=alert]").text()).toContain("SMS replies carry text only");
    await wrapper.get(".toggle input").setValue(true);
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(hoisted.sendMessage).toHaveBeenCalledWith("See the picture", true, { attachment_ids: [7] });
  });

  it("prefills To, Cc and Subject and sends the rich text with Ctrl+Enter", async () => {
    desk.current.messages = [
      message(1, {
        meta: { to: ["support@acme.example.com", "dan@customer.example.com"], cc: ["Support+x@ACME.example.com", "eve@partner.example.com"] },
      }),
    ];
    const wrapper = mount(MessageComposer, { props: { channel: "email", subject: "Re: Kettle" }, attachTo: document.body });
    await flushPromises();
    await vi.dynamicImportSettled();
    await flushPromises();
    expect((wrapper.get("#email-to").element as HTMLInputElement).value).toBe("carla@customer.example.com");
    expect((wrapper.get("#email-cc").element as HTMLInputElement).value).toBe("dan@customer.example.com, eve@partner.example.com");
    expect((wrapper.get("#email-subject").element as HTMLInputElement).value).toBe("Re: Kettle");
    await wrapper.get("#email-cc").setValue("eve@partner.example.com");
    const editor = wrapper.get("#composer-rich");
    editor.element.innerHTML = "<b>Hello</b> Carla";
    await editor.trigger("input");
    await editor.trigger("keydown", { key: "Enter" });
    expect(hoisted.sendMessage).not.toHaveBeenCalled();
    await editor.trigger("keydown", { key: "Enter", ctrlKey: true });
    expect(hoisted.sendMessage).toHaveBeenCalledWith("Hello Carla", false, {
      to: ["carla@customer.example.com"],
      cc: ["eve@partner.example.com"],
      html: "<b>Hello</b> Carla",
    });
    wrapper.unmount();
  });

  it("writes an internal note in email as plain text, without email fields", async () => {
    const wrapper = mount(MessageComposer, { props: { channel: "email", subject: "Kettle" } });
    await wrapper.get("input[type=checkbox]").setValue(true);
    expect(wrapper.find("#email-to").exists()).toBe(false);
    await wrapper.get("textarea").setValue("Checked with billing");
    await wrapper.get("form").trigger("submit");
    expect(hoisted.sendMessage).toHaveBeenCalledWith("Checked with billing", true, {});
  });
});

describe("email addressing", () => {
  it("replies with Re: once", () => {
    expect(addressing.replySubject("RE: Re: Order 1")).toBe("Re: Order 1");
    expect(addressing.replySubject("")).toBe("Re: (no subject)");
  });

  it("parses typed addresses", () => {
    expect(addressing.parseAddresses(" a@x.com,b@y.com; <c@z.com>  ")).toEqual(["a@x.com", "b@y.com", "c@z.com"]);
  });
});

describe("collision state", () => {
  it("keeps frames of the open conversation only, and lets entries lapse", () => {
    Object.assign(viewers.collision, { conversationId: 1, me: 5, viewers: [] });
    viewers.applyViewers({ conversation_id: 2, viewers: [{ user_id: 3, name: "Ann", role: "agent", viewing: true, typing: false, expires_in_s: 30 }] }, 0);
    expect(viewers.others.value).toEqual([]);
    viewers.applyViewers(
      {
        conversation_id: 1,
        viewers: [
          { user_id: 3, name: "Ann", role: "agent", viewing: true, typing: false, expires_in_s: 30 },
          { user_id: 4, name: "Bob", role: "agent", viewing: true, typing: true, expires_in_s: 6 },
        ],
      },
      0,
    );
    expect(viewers.describeViewers(viewers.others.value)).toEqual(["Bob is typing…", "Ann is viewing"]);
    expect(viewers.nextLapse()).toBe(6000);
    viewers.tick(6000);
    expect(viewers.describeViewers(viewers.others.value)).toEqual(["Ann is viewing"]);
    viewers.tick(30_001);
    expect(viewers.others.value).toEqual([]);
  });

  it("names several viewers in one chip", () => {
    const v = (name: string) => ({ userId: 1, name, viewing: true, typing: false, until: 1 });
    expect(viewers.describeViewers([v("Ann"), v("Bob"), v("Eve")])).toEqual(["Ann, Bob and Eve are viewing"]);
  });
});

describe("uploadFile", () => {
  class FakeRequest {
    upload: { onprogress: ((ev: { lengthComputable: boolean; loaded: number; total: number }) => void) | null } = { onprogress: null };
    onload: (() => void) | null = null;
    onerror: (() => void) | null = null;
    status = 0;
    responseText = "";
    withCredentials = false;
    open = vi.fn();
    setRequestHeader = vi.fn();
    send = vi.fn();
  }

  it("reports progress and resolves to the attachment", async () => {
    const request = new FakeRequest();
    const seen: number[] = [];
    const done = uploadFile(new File(["abc"], "a.txt"), (f) => seen.push(f), () => request as unknown as XMLHttpRequest);
    expect(request.open).toHaveBeenCalledWith("POST", "/api/v1/attachments");
    request.upload.onprogress?.({ lengthComputable: true, loaded: 1, total: 4 });
    Object.assign(request, { status: 201, responseText: JSON.stringify({ id: 9, filename: "a.txt" }) });
    request.onload?.();
    await expect(done).resolves.toMatchObject({ id: 9 });
    expect(seen).toEqual([0.25, 1]);
  });

  it("rejects with the server's message for a file too large", async () => {
    const request = new FakeRequest();
    const done = uploadFile(new File(["abc"], "a.txt"), () => undefined, () => request as unknown as XMLHttpRequest);
    Object.assign(request, { status: 413, responseText: JSON.stringify({ code: "payload_too_large", message: "attachments may be at most 10 bytes" }) });
    request.onload?.();
    await expect(done).rejects.toThrow("attachments may be at most 10 bytes");
  });
});

describe("snooze choices", () => {
  it("offers an hour, tomorrow 9:00 and next Monday 9:00", () => {
    const wednesday = new Date(2026, 0, 7, 15, 30); // a Wednesday
    const [hour, tomorrow, week] = snoozeChoices(wednesday);
    expect(hour!.at.getTime() - wednesday.getTime()).toBe(3600_000);
    expect(localInputValue(tomorrow!.at)).toBe("2026-01-08T09:00");
    expect(localInputValue(week!.at)).toBe("2026-01-12T09:00");
    const monday = new Date(2026, 0, 12, 8, 0);
    expect(localInputValue(snoozeChoices(monday)[2]!.at)).toBe("2026-01-19T09:00");
  });
});

describe("ActionsBar", () => {
  const conversation = () => reactive({ id: 1, status: "open", priority: "normal", assignee_id: null }) as never;

  it("snoozes with a quick choice and changes the priority", async () => {
    const wrapper = mount(ActionsBar, { props: { conversation: conversation() } });
    await wrapper.get("button[aria-controls=snooze-menu]").trigger("click");
    const tomorrow = wrapper.findAll("#snooze-menu button").find((b) => b.text() === "Tomorrow 9:00")!;
    await tomorrow.trigger("click");
    const [change] = hoisted.updateConversation.mock.calls[0] as [{ status: string; snoozed_until: string }];
    expect(change.status).toBe("snoozed");
    expect(new Date(change.snoozed_until).getHours()).toBe(9);
    await wrapper.get("select[aria-label=Priority]").setValue("urgent");
    expect(hoisted.updateConversation).toHaveBeenLastCalledWith({ priority: "urgent" });
  });

  it("takes, resolves and reopens", async () => {
    const wrapper = mount(ActionsBar, { props: { conversation: conversation() } });
    await wrapper.findAll("button").find((b) => b.text() === "Assign to me")!.trigger("click");
    expect(hoisted.updateConversation).toHaveBeenLastCalledWith({ assignee_id: 5 });
    await wrapper.findAll("button").find((b) => b.text() === "Resolve")!.trigger("click");
    expect(hoisted.updateConversation).toHaveBeenLastCalledWith({ status: "resolved" });
  });

  it("runs a macro the agent picks, says so, and has no menu without macros", async () => {
    expect(mount(ActionsBar, { props: { conversation: conversation() } }).find("select[aria-label='Run a macro']").exists()).toBe(false);
    hoisted.listMacros.mockResolvedValueOnce([
      { id: 7, name: "Refund: close politely", scope: "account", actions: [{ type: "set_status" }] },
      { id: 9, name: "Escalate", scope: "personal", actions: [{ type: "set_priority" }] },
    ]);
    const wrapper = mount(ActionsBar, { props: { conversation: conversation() } });
    await flushPromises();
    const menu = wrapper.get("select[aria-label='Run a macro']");
    expect(menu.findAll("option").map((o) => o.text())).toEqual(["Macros…", "Refund: close politely", "Escalate"]);
    await menu.setValue("9");
    await flushPromises();
    expect(hoisted.applyMacro).toHaveBeenCalledWith(9);
    expect(wrapper.get("[role=status]").text()).toBe("Macro “Escalate” applied.");
    expect((menu.element as HTMLSelectElement).value).toBe("");
  });
});

describe("TransferDialog", () => {
  async function open() {
    const wrapper = mount(TransferDialog, { attachTo: document.body });
    await flushPromises();
    return wrapper;
  }

  it("transfers to an agent through the router with a note", async () => {
    const wrapper = await open();
    await wrapper.get("select").setValue("3");
    await wrapper.get("textarea").setValue("VIP, be gentle");
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(hoisted.POST).toHaveBeenCalledWith("/api/v1/routing/transfers", {
      body: { conversation_id: 1, to_agent_id: 3, note: "VIP, be gentle" },
    });
    expect(hoisted.sendMessage).toHaveBeenCalledWith("Transferred to Ann Smith: VIP, be gentle", true);
    expect(wrapper.emitted("close")).toEqual([[true]]);
    wrapper.unmount();
  });

  it("assigns directly when the router does not hold the conversation", async () => {
    hoisted.POST.mockImplementation(() => answer({ message: "not in routing" }, 409));
    const wrapper = await open();
    await wrapper.get("select").setValue("4");
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(hoisted.updateConversation).toHaveBeenCalledWith({ assignee_id: 4 });
    expect(hoisted.sendMessage).toHaveBeenCalledWith("Transferred to Bob Jones", true);
    wrapper.unmount();
  });

  it("gives it to a team, and shows a queue transfer's refusal", async () => {
    const wrapper = await open();
    await wrapper.findAll("input[type=radio]")[1]!.setValue(true);
    await wrapper.get("select").setValue("6");
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(hoisted.updateConversation).toHaveBeenCalledWith({ team_id: 6, assignee_id: null });
    wrapper.unmount();

    hoisted.POST.mockImplementation(() => answer({ message: "the conversation is not in routing" }, 409));
    const again = await open();
    await again.findAll("input[type=radio]")[2]!.setValue(true);
    await again.get("select").setValue("2");
    await again.get("form").trigger("submit");
    await flushPromises();
    expect(again.get("[role=alert]").text()).toBe("the conversation is not in routing");
    expect(again.emitted("close")).toBeUndefined();
    again.unmount();
  });

  it("closes on Escape", async () => {
    const wrapper = await open();
    await wrapper.get("[role=dialog]").trigger("keydown", { key: "Escape" });
    expect(wrapper.emitted("close")).toEqual([[false]]);
    wrapper.unmount();
  });
});

describe("MessageComposer while a send is under way", () => {
  it("keeps what the agent wrote, picked and attached meanwhile", async () => {
    let finish: () => void = () => undefined;
    hoisted.sendMessage.mockImplementationOnce(() => new Promise<undefined>((resolve) => (finish = () => resolve(undefined))));
    hoisted.upload.mockResolvedValue({ id: 77, filename: "b.txt" });
    const wrapper = mount(MessageComposer, { props: { channel: "webchat", subject: "" } });
    const box = wrapper.get("textarea");
    await box.setValue("First");
    await wrapper.get("form").trigger("submit");
    // While "First" is on its way, the agent starts a note with a mention and a file.
    await wrapper.get("input[type=checkbox]").setValue(true);
    await box.setValue("@bo");
    await box.trigger("input");
    await box.trigger("keydown", { key: "Enter" });
    const input = wrapper.get("input[type=file]");
    Object.defineProperty(input.element, "files", { value: [new File(["x"], "b.txt")], configurable: true });
    await input.trigger("change");
    finish();
    await flushPromises();
    expect((box.element as HTMLTextAreaElement).value).toBe("@Bob Jones ");
    await wrapper.get("form").trigger("submit");
    expect(hoisted.sendMessage).toHaveBeenLastCalledWith("@Bob Jones ", true, { attachment_ids: [77], mentions: [4] });
  });
});

describe("ViewersChips", () => {
  it("says viewing while open, shows the others from frames, and says it left", async () => {
    hoisted.POST.mockImplementation((path: string) =>
      path.endsWith("/viewing")
        ? answer({ conversation_id: 1, viewers: [{ user_id: 5, name: "Me Myself", role: "agent", viewing: true, typing: false, expires_in_s: 30 }] })
        : answer({}, 404),
    );
    const wrapper = mount(ViewersChips, { props: { conversationId: 1 } });
    await flushPromises();
    expect(hoisted.POST).toHaveBeenCalledWith("/api/v1/conversations/{conversation_id}/viewing", {
      params: { path: { conversation_id: 1 } },
      body: { viewing: true },
    });
    expect(wrapper.find("[data-testid=viewers]").exists()).toBe(false); // only me
    for (const listener of hoisted.frames) {
      listener({
        type: "conversation.viewers",
        conversation_id: 1,
        viewers: [{ user_id: 3, name: "Ann Smith", role: "agent", viewing: true, typing: true, expires_in_s: 6 }],
      });
    }
    await flushPromises();
    expect(wrapper.get("[data-testid=viewers]").text()).toBe("Ann Smith is typing…");
    wrapper.unmount();
    await flushPromises();
    expect(hoisted.POST).toHaveBeenLastCalledWith("/api/v1/conversations/{conversation_id}/viewing", {
      params: { path: { conversation_id: 1 } },
      body: { viewing: false },
    });
    expect(hoisted.frames).toEqual([]);
  });
});

describe("MentionNotice", () => {
  it("tells the mentioned agent, with a link, and nobody else", async () => {
    const listeners: ((event: unknown) => void)[] = [];
    vi.resetModules();
    vi.doMock("../src/stores/desk", () => ({
      directory: { users: new Map([[3, "Ann Smith"]]) },
      onDeskEvent: (listener: (event: unknown) => void) => (listeners.push(listener), () => undefined),
    }));
    vi.doMock("../src/lib/beep", () => ({ beep: () => undefined }));
    const { default: MentionNotice } = await import("../src/components/conversation/MentionNotice.vue");
    const wrapper = mount(MentionNotice, { global: { stubs: { RouterLink: { template: "<a><slot /></a>" } } } });
    const event = (mentioned: number) => ({
      type: "note.mentioned",
      conversation_id: 9,
      actor_user_id: 3,
      data: { mentioned_user_id: mentioned, excerpt: "@Me Myself look" },
    });
    listeners.forEach((l) => l(event(4)));
    await flushPromises();
    expect(wrapper.find("[data-testid=mention-notice]").exists()).toBe(false);
    listeners.forEach((l) => l(event(5)));
    await flushPromises();
    expect(wrapper.get("[data-testid=mention-notice]").text()).toContain("Ann Smith mentioned you: “@Me Myself look”");
    await wrapper.get("button").trigger("click");
    expect(wrapper.find("[data-testid=mention-notice]").exists()).toBe(false);
  });
});
