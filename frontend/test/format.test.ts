import { describe, expect, it } from "vitest";
import { deliveryText, describeEvent, slaBadge } from "../src/lib/format";

const target = (kind: string, state: string, remaining_s: number) => ({ kind, state, remaining_s });

describe("the SLA badge", () => {
  it("says nothing without an SLA or while every target is on track", () => {
    expect(slaBadge(null)).toBeNull();
    expect(slaBadge({ targets: [] })).toBeNull();
    expect(slaBadge({ targets: [target("resolution", "ok", 30), target("first_response", "achieved", 0)] })).toBeNull();
  });

  it("puts a breach before any target due soon", () => {
    const sla = { targets: [target("first_response", "warning", 120), target("resolution", "breached", -5)] };
    expect(slaBadge(sla)).toEqual({ state: "breached", text: "resolution overdue" });
  });

  it("shows the target due soonest, in minutes then hours", () => {
    const sla = { targets: [target("resolution", "warning", 7300), target("next_response", "warning", 61)] };
    expect(slaBadge(sla)).toEqual({ state: "warning", text: "next response in 2 min" });
    expect(slaBadge({ targets: [target("resolution", "warning", 7300)] })?.text).toBe("resolution in 2 h");
  });
});

describe("the timeline's words for events", () => {
  it("names SLA warnings, breaches and mentions", () => {
    expect(describeEvent("sla.warning", { kind: "first_response" })).toBe("SLA: first response due soon");
    expect(describeEvent("sla.breached", { kind: "resolution" })).toBe("SLA: resolution breached");
    expect(describeEvent("note.mentioned", {})).toBe("Mentioned in a note");
    expect(describeEvent("something.else", {})).toBeNull();
  });
});

describe("a message's delivery", () => {
  it("shows the provider's progress as it is", () => {
    expect(deliveryText(null)).toBe("");
    expect(deliveryText("read")).toBe("read");
  });

  it("says why a message was not delivered, and stays plain for a reason it does not know", () => {
    expect(deliveryText("failed", "outside_window")).toBe(
      "not delivered: the reply window closed; send an approved template",
    );
    expect(deliveryText("failed", "opted_out")).toBe("not delivered: the customer opted out (STOP)");
    expect(deliveryText("failed", "something_new")).toBe("not delivered");
    expect(deliveryText("failed", null)).toBe("not delivered");
  });
});
