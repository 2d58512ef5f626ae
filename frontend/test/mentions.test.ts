import { describe, expect, it } from "vitest";
import { matches, mentionedIds, triggerAt } from "../src/lib/mentions";

describe("triggerAt", () => {
  it("finds a trigger at the start of a word and what follows it", () => {
    expect(triggerAt("/", "/")).toEqual({ char: "/", query: "", start: 0 });
    expect(triggerAt("Hello /ref", "/")).toEqual({ char: "/", query: "ref", start: 6 });
    expect(triggerAt("line\n@an", "@/")).toEqual({ char: "@", query: "an", start: 5 });
  });

  it("ignores triggers inside words, after a space, or for other chars", () => {
    expect(triggerAt("and/or", "/")).toBeNull();
    expect(triggerAt("ann@example.com", "@")).toBeNull();
    expect(triggerAt("/refund ", "/")).toBeNull();
    expect(triggerAt("@ann", "/")).toBeNull();
    expect(triggerAt("", "/")).toBeNull();
  });

  it("gives up on a very long word", () => {
    expect(triggerAt("/" + "x".repeat(100), "/")).toBeNull();
  });
});

describe("matches", () => {
  it("matches a prefix of the text or one of its words, in any case", () => {
    expect(matches("Ann Smith", "")).toBe(true);
    expect(matches("Ann Smith", "an")).toBe(true);
    expect(matches("Ann Smith", "SMI")).toBe(true);
    expect(matches("Ann Smith", "mith")).toBe(false);
  });
});

describe("mentionedIds", () => {
  it("keeps the picked users whose mention is still in the text", () => {
    const picked = new Map([
      [3, "Ann Smith"],
      [4, "Bob"],
      [5, "Eve"],
    ]);
    expect(mentionedIds("@Ann Smith and @Eve, look", picked)).toEqual([3, 5]);
    expect(mentionedIds("nobody", picked)).toEqual([]);
  });
});
