import { mount } from "@vue/test-utils";
import { reactive } from "vue";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createOffers } from "../src/stores/offers";

const T0 = Date.parse("2026-01-01T10:00:00Z");
const hoisted = vi.hoisted(() => ({
  now: 0,
  sendMessage: vi.fn(async () => undefined),
  acceptOffer: vi.fn(async () => 7),
  declineOffer: vi.fn(async () => undefined),
  push: vi.fn(async () => undefined),
}));

vi.mock("vue-router", () => ({ useRouter: () => ({ push: hoisted.push }) }));
vi.mock("../src/stores/desk", () => {
  const offers = createOffers(
    () => 5,
    () => hoisted.now,
  );
  return {
    offers,
    sendMessage: hoisted.sendMessage,
    typing: () => undefined,
    acceptOffer: hoisted.acceptOffer,
    declineOffer: hoisted.declineOffer,
    contactName: () => "Ada Lovelace",
    directory: reactive({
      queues: new Map([[2, "Support"]]),
      offered: new Map([[7, { contact_id: 3, subject: "Refund" }]]),
    }),
  };
});

const { default: OfferPopup } = await import("../src/components/OfferPopup.vue");
const desk = await import("../src/stores/desk");

beforeEach(() => {
  vi.clearAllMocks();
  hoisted.now = T0;
  for (const o of desk.offers.pending.value) desk.offers.remove(o.id);
});

describe("OfferPopup", () => {
  function offer(id: number): void {
    desk.offers.add({
      id,
      conversationId: 7,
      channel: "webchat",
      queueId: 2,
      createdAt: T0,
      expiresAt: T0 + 30_000,
    });
  }

  it("shows the customer, queue and countdown, and accepts", async () => {
    offer(1);
    const wrapper = mount(OfferPopup);
    expect(wrapper.get("[role=alertdialog]").text()).toContain("New chat conversation");
    expect(wrapper.text()).toContain("Ada Lovelace");
    expect(wrapper.text()).toContain("Support");
    expect(wrapper.get(".seconds").text()).toBe("30");
    hoisted.now = T0 + 10_500;
    desk.offers.tick();
    await wrapper.vm.$nextTick();
    expect(wrapper.get(".seconds").text()).toBe("20");
    await wrapper.get("button.primary").trigger("click");
    await vi.waitFor(() => expect(hoisted.push).toHaveBeenCalled());
    expect(hoisted.acceptOffer).toHaveBeenCalledWith(1);
    desk.offers.remove(1);
  });

  it("never takes the focus from a reply being written, and answers Alt+A", async () => {
    const box = document.createElement("textarea");
    document.body.append(box);
    box.focus();
    const wrapper = mount(OfferPopup, { attachTo: document.body });
    offer(3);
    await vi.waitFor(() => expect(wrapper.find("[role=alertdialog]").exists()).toBe(true));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(document.activeElement).toBe(box);
    box.dispatchEvent(new KeyboardEvent("keydown", { key: "a", code: "KeyA", altKey: true, bubbles: true }));
    await vi.waitFor(() => expect(hoisted.acceptOffer).toHaveBeenCalledWith(3));
    wrapper.unmount();
    box.remove();
  });

  it("declines with a reason", async () => {
    offer(2);
    const wrapper = mount(OfferPopup);
    const decline = wrapper.findAll("button").find((b) => b.text().startsWith("Decline"));
    await decline!.trigger("click");
    await wrapper.get("#decline-reason").setValue("On a call");
    await wrapper.get("form").trigger("submit");
    expect(hoisted.declineOffer).toHaveBeenCalledWith(2, "On a call");
    desk.offers.remove(2);
  });
});
