import { describe, expect, it } from "vitest";
import { countSegments } from "../src/lib/segments";

describe("countSegments", () => {
  it("counts nothing for an empty text", () => {
    expect(countSegments("")).toMatchObject({ encoding: "GSM-7", units: 0, segments: 0, remaining: 160 });
  });

  it("fits 160 GSM-7 characters in one SMS and splits the 161st into parts of 153", () => {
    expect(countSegments("a".repeat(160))).toMatchObject({ segments: 1, remaining: 0, perSegment: 160 });
    expect(countSegments("a".repeat(161))).toMatchObject({ segments: 2, perSegment: 153, remaining: 145 });
    expect(countSegments("a".repeat(306))).toMatchObject({ segments: 2, remaining: 0 });
    expect(countSegments("a".repeat(307))).toMatchObject({ segments: 3, remaining: 152 });
  });

  it("keeps GSM-7 for its accented letters and Greek capitals", () => {
    const c = countSegments("Café à Øresund: ΔΦΓ £5 ¿ñ?");
    expect(c.encoding).toBe("GSM-7");
    expect(c.units).toBe(Array.from("Café à Øresund: ΔΦΓ £5 ¿ñ?").length);
  });

  it("counts extension characters twice", () => {
    expect(countSegments("€")).toMatchObject({ encoding: "GSM-7", units: 2 });
    expect(countSegments("[x]{y}~^|\\")).toMatchObject({ units: 18 });
    // 159 + an extension character: 161 septets, two parts.
    expect(countSegments("a".repeat(159) + "€")).toMatchObject({ units: 161, segments: 2 });
    expect(countSegments("a".repeat(158) + "€")).toMatchObject({ units: 160, segments: 1 });
  });

  it("never splits an escape pair across parts", () => {
    // 152 septets then "€": it does not fit in the first part's last septet.
    const c = countSegments("a".repeat(152) + "€" + "a".repeat(10));
    expect(c.segments).toBe(2);
    expect(c.remaining).toBe(153 - 12);
  });

  it("switches to UCS-2 for any other character, with 70 and 67", () => {
    const c = countSegments("Merci ç");
    expect(c.encoding).toBe("UCS-2"); // ç (lower case) is not in GSM-7; Ç is
    expect(c.unicode).toEqual(["ç"]);
    expect(countSegments("я".repeat(70))).toMatchObject({ segments: 1, remaining: 0 });
    expect(countSegments("я".repeat(71))).toMatchObject({ segments: 2, perSegment: 67, remaining: 63 });
    expect(countSegments("я".repeat(134))).toMatchObject({ segments: 2, remaining: 0 });
  });

  it("counts an emoji as two UCS-2 units and keeps its pair whole", () => {
    expect(countSegments("👍")).toMatchObject({ encoding: "UCS-2", units: 2, remaining: 68 });
    // 66 units then an emoji: the pair moves whole to the next part.
    const c = countSegments("я".repeat(66) + "👍" + "я".repeat(3));
    expect(c).toMatchObject({ units: 71, segments: 2, remaining: 67 - 5 });
  });

  it("lists each character that forced UCS-2 once", () => {
    expect(countSegments("ok 👍👍 ç").unicode).toEqual(["👍", "ç"]);
  });
});
