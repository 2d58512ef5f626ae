import { describe, expect, it } from "vitest";
import {
  createReader,
  neighbour,
  onAction,
  runAction,
  SHORTCUTS,
  shortcutFor,
  type KeyLike,
} from "../src/lib/shortcuts";

function key(k: string, patch: Partial<KeyLike> = {}): KeyLike {
  return { key: k, altKey: false, ctrlKey: false, metaKey: false, target: document.body, ...patch };
}

describe("shortcuts", () => {
  it("maps single keys when nobody is typing", () => {
    expect(shortcutFor(key("/"))).toBe("search");
    expect(shortcutFor(key("j"))).toBe("next");
    expect(shortcutFor(key("k"))).toBe("previous");
    expect(shortcutFor(key("r"))).toBe("reply");
    expect(shortcutFor(key("e"))).toBe("resolve");
    expect(shortcutFor(key("p"))).toBe("pending");
    expect(shortcutFor(key("n"))).toBe("note");
    expect(shortcutFor(key("a"))).toBe("assign");
    expect(shortcutFor(key("3"))).toBe("tab-3");
    expect(shortcutFor(key("Escape"))).toBe("close");
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

  it("reads two-key sequences, and a key after a broken one on its own", () => {
    const read = createReader();
    expect(read(key("g"))).toBeNull();
    expect(read(key("i"))).toBe("go-inbox");
    expect(read(key("g"))).toBeNull();
    expect(read(key("w"))).toBe("go-wallboard");
    expect(read(key("i"))).toBeNull(); // "i" alone is nothing
    expect(read(key("g"))).toBeNull();
    expect(read(key("j"))).toBe("next"); // not a sequence: the key counts by itself
    expect(read(key("g"))).toBeNull();
    expect(read(key("i", { target: document.createElement("input") }))).toBeNull();
    expect(read(key("i"))).toBeNull(); // typing in between ended the sequence
  });

  it("lists every shortcut once, each key read as listed", () => {
    const keys = SHORTCUTS.map((s) => s.keys);
    expect(new Set(keys).size).toBe(keys.length);
    for (const s of SHORTCUTS) {
      const read = createReader();
      let got = null;
      for (const k of s.keys.split(" ")) {
        const alt = k.startsWith("Alt+");
        const name = alt ? k.slice(4).toLowerCase() : k === "Esc" ? "Escape" : k;
        got = read(key(name, { altKey: alt }));
      }
      expect(got).toBe(s.action);
    }
  });

  it("runs the latest handler of an action, and the earlier one when it passes", () => {
    const ran: string[] = [];
    const stopFirst = onAction("resolve", () => void ran.push("desk"));
    const stopSecond = onAction("resolve", () => {
      ran.push("pane");
      return false;
    });
    expect(runAction("resolve")).toBe(true);
    expect(ran).toEqual(["pane", "desk"]);
    stopSecond();
    stopFirst();
    expect(runAction("resolve")).toBe(false);
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
