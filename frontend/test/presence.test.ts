import { mount } from "@vue/test-utils";
import { reactive } from "vue";
import { describe, expect, it, vi } from "vitest";

const hoisted = vi.hoisted(() => ({ setPresence: vi.fn(async () => undefined) }));

vi.mock("../src/stores/desk", () => ({
  setPresence: hoisted.setPresence,
  live: reactive({ presence: { presence: "offline", reason: null } }),
  directory: reactive({ awayReasons: [{ id: 4, name: "Lunch", created_at: "" }] }),
}));

const { default: PresenceSwitcher } = await import("../src/components/PresenceSwitcher.vue");

describe("PresenceSwitcher", () => {
  it("goes available at once, and away only with the reason chosen", async () => {
    const wrapper = mount(PresenceSwitcher);
    await wrapper.get("#presence").setValue("available");
    expect(hoisted.setPresence).toHaveBeenLastCalledWith("available");
    hoisted.setPresence.mockClear();

    await wrapper.get("#presence").setValue("away");
    expect(hoisted.setPresence).not.toHaveBeenCalled();
    await wrapper.get("#away-reason").setValue("4");
    await wrapper.get("form").trigger("submit");
    expect(hoisted.setPresence).toHaveBeenCalledWith("away", { reason_id: 4 });
  });
});
