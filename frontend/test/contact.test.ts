import { flushPromises, mount, RouterLinkStub } from "@vue/test-utils";
import { describe, expect, it, vi } from "vitest";
import type { Contact, Conversation, EventOut } from "../src/api/client";
import {
  attributeRows,
  createContact360,
  csatHistory,
  recentActivity,
  type Contact360Source,
  type Definition,
} from "../src/components/contact/contact360";

function conversation(id: number, patch: Partial<Conversation> = {}): Conversation {
  const at = new Date(Date.UTC(2026, 0, 1, 10, id)).toISOString();
  return {
    id,
    inbox_id: 1,
    contact_id: 3,
    subject: `Subject ${id}`,
    status: "resolved",
    priority: "normal",
    assignee_id: null,
    team_id: null,
    custom_fields: {},
    channel_thread_id: null,
    snoozed_until: null,
    created_at: at,
    updated_at: at,
    last_activity_at: at,
    first_response_at: null,
    resolved_at: null,
    tags: [],
    csat_rating: null,
    csat_comment: null,
    csat_at: null,
    ...patch,
  } as Conversation;
}

function contact(id: number, patch: Partial<Contact> = {}): Contact {
  return {
    id,
    name: `Contact ${id}`,
    company_id: null,
    company: null,
    attributes: {},
    identities: [],
    merged_into_id: null,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    ...patch,
  } as Contact;
}

function event(id: number, type: string, data: Record<string, unknown> = {}, patch: Partial<EventOut> = {}): EventOut {
  return {
    id,
    type,
    audience: "account",
    conversation_id: null,
    contact_id: 3,
    assignee_id: null,
    team_id: null,
    actor_user_id: null,
    data,
    created_at: "2026-01-01T10:00:00Z",
    ...patch,
  };
}

const definitions = [
  { id: 1, applies_to: "contact", key: "plan", label: "Plan", type: "text", options: [], required_on_resolve: false, created_at: "" },
  { id: 2, applies_to: "company", key: "plan", label: "Company plan", type: "text", options: [], required_on_resolve: false, created_at: "" },
] as Definition[];

describe("contact 360 helpers", () => {
  it("labels attributes from their definitions", () => {
    expect(attributeRows({ plan: "Gold", vip: true, tags: ["a", "b"], empty: "" }, definitions)).toEqual([
      { key: "plan", label: "Plan", value: "Gold" },
      { key: "tags", label: "tags", value: "a, b" },
      { key: "vip", label: "vip", value: "Yes" },
    ]);
  });

  it("lists ratings, the latest first, and recent page views and rage clicks", () => {
    const rated = [
      conversation(1, { csat_rating: 2, csat_at: "2026-01-02T00:00:00Z" }),
      conversation(2),
      conversation(3, { csat_rating: 5, csat_at: "2026-01-03T00:00:00Z" }),
    ];
    expect(csatHistory(rated).map((c) => c.id)).toEqual([3, 1]);
    const events = [
      event(3, "contact.rage_clicked", { url: "https://shop.example/cart", selector: "#buy" }),
      event(2, "contact.page_viewed", { url: "https://shop.example/", title: "Shop" }),
      event(1, "conversation.created"),
    ];
    expect(recentActivity(events).map((a) => [a.kind, a.what, a.title, a.url])).toEqual([
      ["rage_click", "Rage clicks on", "", "https://shop.example/cart"],
      ["page_view", "Viewed", "Shop", "https://shop.example/"],
    ]);
  });
});

function source(): Contact360Source & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    contact: async (id) => (calls.push(`contact ${id}`), contact(id)),
    conversations: async (id) => (calls.push(`conversations ${id}`), [conversation(7, { contact_id: id })]),
    events: async (id) => (calls.push(`events ${id}`), []),
    definitions: async () => (calls.push("definitions"), definitions),
  };
}

describe("contact 360 loader", () => {
  it("loads a contact once, definitions once, and again for events about it", async () => {
    const s = source();
    const view = createContact360(s);
    await view.show(3);
    await view.show(3);
    expect(view.state.contact?.name).toBe("Contact 3");
    expect(s.calls.sort()).toEqual(["contact 3", "conversations 3", "definitions", "events 3"]);
    s.calls.length = 0;
    view.handle(event(9, "message.received", {}, { conversation_id: 7 })); // nothing it shows
    view.handle(event(10, "contact.page_viewed", {}, { contact_id: 4 })); // someone else
    expect(s.calls).toEqual([]);
    view.handle(event(11, "conversation.csat_received", {}, { conversation_id: 7, contact_id: null }));
    view.handle(event(12, "contact.updated"));
    await view.refresh();
    // Two events while a run was going: one more run, not two.
    expect(s.calls.filter((c) => c.startsWith("contact "))).toEqual(["contact 3", "contact 3"]);
    expect(s.calls).not.toContain("definitions");
  });

  it("follows the contact shown into the one it was merged into", async () => {
    const view = createContact360(source());
    await view.show(3);
    view.handle(event(30, "contact.merged", { merged_id: 2, survivor_id: 8 }, { contact_id: 8 }));
    await view.refresh();
    expect(view.state.contact?.id).toBe(3); // another merge: nothing to do with it
    view.handle(event(31, "contact.merged", { merged_id: 3, survivor_id: 8 }, { contact_id: 8 }));
    await view.refresh();
    expect(view.state.contactId).toBe(8);
    expect(view.state.contact?.id).toBe(8);
  });

  it("drops an answer for a contact no longer shown", async () => {
    const s = source();
    let release: () => void = () => undefined;
    const slow = new Promise<void>((r) => (release = r));
    s.contact = async (id) => {
      if (id === 3) await slow;
      return contact(id);
    };
    const view = createContact360(s);
    const first = view.show(3);
    const second = view.show(4);
    release();
    await Promise.all([first, second]);
    expect(view.state.contact?.id).toBe(4);
    expect(view.state.loading).toBe(false);
  });
});

const hoisted = vi.hoisted(() => ({ listeners: [] as ((e: EventOut) => void)[] }));
vi.mock("../src/stores/desk", () => ({
  channelOf: () => "webchat",
  onDeskEvent: (l: (e: EventOut) => void) => {
    hoisted.listeners.push(l);
    return () => undefined;
  },
}));
let rating: number | null = null;
vi.mock("../src/api/client", () => ({
  ok: async <T>(p: Promise<{ data: T }>) => (await p).data,
  api: {
    GET: async (path: string) => {
      if (path === "/api/v1/contacts/{contact_id}") {
        return {
          data: contact(3, {
            name: "Zoë Visitor",
            attributes: { plan: "Gold" },
            company: { id: 1, name: "Acme Ltd", domain: "acme.example" } as Contact["company"],
            identities: [
              { id: 1, kind: "email", value: "zoe@example.com", verified: true, created_at: "" },
              { id: 2, kind: "webchat", value: "v-123", verified: false, created_at: "" },
              { id: 4, kind: "phone", value: "+14155550123", verified: false, consent: "opt_out", consent_at: "2026-01-02T00:00:00Z", created_at: "" },
            ],
          }),
        };
      }
      if (path === "/api/v1/conversations") {
        return {
          data: {
            items: [
              conversation(7, { csat_rating: rating, csat_comment: rating ? "Quick" : null, csat_at: rating ? "2026-01-02T00:00:00Z" : null }),
              conversation(5, { subject: "Earlier question" }),
            ],
          },
        };
      }
      if (path === "/api/v1/contacts/{contact_id}/events") {
        return { data: [event(2, "contact.page_viewed", { url: "https://shop.example/p", title: "Product" })] };
      }
      return { data: definitions };
    },
  },
}));

describe("ContactSidebar", () => {
  it("shows identities, details, other conversations, activity and ratings, live", async () => {
    const { default: ContactSidebar } = await import("../src/components/ContactSidebar.vue");
    const wrapper = mount(ContactSidebar, {
      props: { contactId: 3, conversationId: 7 },
      global: { stubs: { RouterLink: RouterLinkStub } },
    });
    await flushPromises();
    const text = wrapper.text();
    expect(wrapper.get("h2").text()).toBe("Zoë Visitor");
    expect(wrapper.findAll(".identities li").map((li) => li.attributes("data-kind"))).toEqual(["email", "webchat", "phone"]);
    expect(text).toContain("zoe@example.com");
    // The customer texted STOP: the agent sees no SMS will reach them.
    expect(wrapper.get(".identities li[data-kind=phone]").text()).toContain("opted out");
    expect(wrapper.get(".identities li[data-kind=email]").text()).not.toContain("opted out");
    expect(text).toContain("Acme Ltd");
    expect(wrapper.get(".attributes").text()).toContain("Plan");
    expect(wrapper.findAll(".conversations li").map((li) => li.text())).toEqual([
      expect.stringContaining("Earlier question"),
    ]);
    expect(wrapper.get(".activity").text()).toContain("Product");
    expect(wrapper.get("[data-testid=csat-history]").text()).toContain("No rating yet");

    // The visitor rates the conversation: the event brings the rating in.
    rating = 4;
    for (const l of hoisted.listeners) l(event(20, "conversation.csat_received", { rating: 4 }, { conversation_id: 7 }));
    await flushPromises();
    const rated = wrapper.get("[data-testid=csat-history] li");
    expect(rated.attributes("data-rating")).toBe("4");
    expect(rated.get("[role=img]").attributes("aria-label")).toBe("4 out of 5");
    expect(rated.text()).toContain("Quick");

    await wrapper.get("button.close").trigger("click");
    expect(wrapper.emitted("close")).toHaveLength(1);
  });
});
