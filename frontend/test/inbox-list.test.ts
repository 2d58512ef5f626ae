import { flushPromises, mount, RouterLinkStub } from "@vue/test-utils";
import { describe, expect, it, vi } from "vitest";
import type { Conversation } from "../src/api/client";
import type { Filters } from "../src/stores/inbox";

const hoisted = vi.hoisted(() => ({ asked: [] as Record<string, unknown>[] }));

vi.mock("../src/stores/desk", async () => {
  const { createInbox, query } = await import("../src/stores/inbox");
  const inboxContext = {
    userId: () => 5,
    channelOf: (id: number | null) => (id === 1 ? "email" : "webchat"),
    teamIds: () => [7],
    channels: () => ["webchat", "email"],
  };
  const row = (id: number, patch: Partial<Conversation>) =>
    ({ id, inbox_id: 1, contact_id: id, subject: "", status: "open", priority: "normal", assignee_id: null,
       team_id: null, last_activity_at: "2026-01-01T10:00:00Z", tags: ["vip"], ...patch }) as Conversation;
  const inbox = createInbox(inboxContext, async (filters: Filters) => {
    hoisted.asked.push(query(filters));
    return { items: [row(1, { priority: "urgent", team_id: 7 }), row(2, {})], next_cursor: null };
  });
  return { inbox, inboxContext, channelOf: inboxContext.channelOf, contactName: (id: number) => `Contact ${id}` };
});

describe("InboxList", () => {
  it("has the four tabs and a filter bar made from the facets", async () => {
    const { default: InboxList } = await import("../src/components/InboxList.vue");
    const desk = await import("../src/stores/desk");
    await desk.inbox.load();
    const wrapper = mount(InboxList, {
      props: { selected: null },
      global: { stubs: { RouterLink: RouterLinkStub } },
    });
    expect(wrapper.findAll("[role=tab]").map((t) => t.text())).toEqual(["Mine", "Unassigned", "My teams", "All"]);
    expect(wrapper.findAll("#filter-channel option").map((o) => o.text())).toEqual(["Email", "Chat", "Every channel"]);
    expect(wrapper.findAll("#filter-tag-options option").map((o) => o.attributes("value"))).toEqual(["vip"]);

    await wrapper.get("#tab-teams").trigger("click");
    await flushPromises();
    expect(hoisted.asked.at(-1)).toEqual({ team: "mine", status: ["open"] });
    expect(wrapper.findAll("[data-conversation]").map((r) => r.attributes("data-conversation"))).toEqual(["1"]);

    const urgent = wrapper.get('[data-facet="priority"] input[value="urgent"]');
    (urgent.element as HTMLInputElement).checked = true;
    await urgent.trigger("change");
    await flushPromises();
    expect(hoisted.asked.at(-1)).toEqual({ team: "mine", status: ["open"], priority: ["urgent"] });
    expect(wrapper.get('[data-facet="priority"] summary').text()).toContain("Urgent");

    await wrapper.get("#filter-status").setValue("");
    await flushPromises();
    expect(hoisted.asked.at(-1)).toEqual({ team: "mine", priority: ["urgent"] });
  });
});
