import { describe, expect, it } from "vitest";
import { coalesce } from "../src/lib/coalesce";

describe("coalesce", () => {
  it("runs once at a time per key and once more for everything asked meanwhile", async () => {
    const runs: string[] = [];
    const gates: (() => void)[] = [];
    const refresh = coalesce(async (key: string) => {
      runs.push(key);
      await new Promise<void>((resolve) => gates.push(resolve));
    });
    const first = refresh("a");
    void refresh("a");
    void refresh("a");
    void refresh("b");
    expect(runs).toEqual(["a", "b"]);
    gates.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    expect(runs).toEqual(["a", "b", "a"]);
    gates.shift()!();
    gates.shift()!();
    await first;
    expect(runs).toEqual(["a", "b", "a"]);
    void refresh("a");
    expect(runs).toEqual(["a", "b", "a", "a"]);
    gates.shift()!();
  });

  it("keeps going after a failure", async () => {
    let calls = 0;
    const refresh = coalesce(async () => {
      calls += 1;
      throw new Error("offline");
    });
    await refresh(1);
    await refresh(1);
    expect(calls).toBe(2);
  });
});
