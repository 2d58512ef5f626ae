import { describe, expect, it } from "vitest";
import { neighbour, shortcutFor, type KeyLike } from "../src/lib/shortcuts";

function key(k: string, patch: Partial<KeyLike> = {}): KeyLike {
  return { key: k, altKey: false, ctrlKey: false, metaKey: false, target: document.body, ...patch };
}

describe("shortcuts", () => {
  it("maps single keys when nobody is typing", () => {
    expect(shortcutFor(key("/"))).toBe("search");
    expect(shortcutFor(key("j"))).toBe("next");
    expect(shortcutFor(key("k"))).toBe("previous");
    expect(shortcutFor(key("r"))).toBe("reply");
    expect(shortcutFor(key("x"))).toBeNull();
    expect(shortcutFor(key("j", { ctrlKey: true }))).toBeNull();
  });

  it("leaves keys typed in a field alone, but answers offers from anywhere", () => {
    const box = document.createElement("textarea");
    expect(shortcutFor(key("j", { target: box }))).toBeNull();
    expect(shortcutFor(key("/", { target: document.createElement("input") }))).toBeNull();
    expect(shortcutFor(key("å", { altKey: true, code: "KeyA", target: box }))).toBe("accept");
    expect(shortcutFor(key("d", { altKey: true, target: box }))).toBe("decline");
  });

  it("steps through the list and stops at its ends", () => {
    expect(neighbour([5, 4, 3], null, 1)).toBe(5);
    expect(neighbour([5, 4, 3], 5, 1)).toBe(4);
    expect(neighbour([5, 4, 3], 3, 1)).toBe(3);
    expect(neighbour([5, 4, 3], 5, -1)).toBe(5);
    expect(neighbour([5, 4, 3], 9, -1)).toBe(5);
    expect(neighbour([], 1, 1)).toBeNull();
  });
});
