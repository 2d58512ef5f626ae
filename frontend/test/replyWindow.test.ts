import { describe, expect, it } from "vitest";
import { fillTemplate, missingVariables, replyWindow, timeLeft, type WindowMessage } from "../src/lib/replyWindow";

const inbound = (at: string): WindowMessage => ({ direction: "inbound", kind: "message", created_at: at });
const outbound = (at: string): WindowMessage => ({ direction: "outbound", kind: "message", created_at: at });
const note = (at: string): WindowMessage => ({ direction: "outbound", kind: "note", created_at: at });

describe("the reply window", () => {
  const wrote = "2026-01-05T09:00:00+00:00";

  it("is open for 24 hours after the customer's last message", () => {
    const messages = [inbound("2026-01-04T08:00:00+00:00"), inbound(wrote), outbound("2026-01-05T10:00:00+00:00")];
    const open = replyWindow(messages, 24, new Date("2026-01-06T08:59:00Z"));
    expect(open.open).toBe(true);
    expect(open.closesAt?.toISOString()).toBe("2026-01-06T09:00:00.000Z");
    expect(timeLeft(open, new Date("2026-01-06T05:39:00Z"))).toBe("3 h 21 min");
    const closed = replyWindow(messages, 24, new Date("2026-01-06T09:00:00Z"));
    expect(closed.open).toBe(false);
    expect(closed.reason).toContain("More than 24 hours");
    expect(closed.reason).toContain("template");
  });

  it("counts only the customer's messages, not ours or notes", () => {
    const messages = [inbound(wrote), outbound("2026-01-07T09:00:00+00:00"), note("2026-01-07T09:00:00+00:00")];
    expect(replyWindow(messages, 24, new Date("2026-01-07T10:00:00Z")).open).toBe(false);
  });

  it("is closed before the customer ever wrote, and always open without a window", () => {
    expect(replyWindow([], 24, new Date()).reason).toContain("has not written yet");
    expect(replyWindow([outbound(wrote)], null, new Date("2030-01-01T00:00:00Z")).open).toBe(true);
  });
});

describe("a template's preview", () => {
  const parts = [
    { component: "header", text: "Order {{1}}" },
    { component: "body", text: "Hi {{1}}, your order {{2}} arrives {{ 3 }}." },
  ];

  it("fills what is typed and keeps the placeholders of the rest", () => {
    const values = { "header.1": "#1042", "body.1": "Kerry", "body.2": " " };
    expect(fillTemplate(parts, values)).toBe("Order #1042\n\nHi Kerry, your order {{2}} arrives {{ 3 }}.");
    expect(missingVariables(["header.1", "body.1", "body.2", "body.3"], values)).toEqual(["body.2", "body.3"]);
  });
});
