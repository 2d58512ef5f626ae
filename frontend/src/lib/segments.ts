// How many SMS an agent's text takes: GSM 03.38 (7-bit) when every character is in the
// basic set or its extension table (extension characters count twice: an escape and the
// character), UCS-2 otherwise. One SMS holds 160 GSM-7 or 70 UCS-2 units; a longer text is
// split into parts of 153 or 67 units (the rest carries the concatenation header), and an
// escape pair is never split across parts. UCS-2 counts UTF-16 code units, so an emoji
// outside the BMP takes two, and is never split either.

const BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const EXTENDED = "\f^{}\\[~]|€";

const basic = new Set(BASIC);
const extended = new Set(EXTENDED);

export type Encoding = "GSM-7" | "UCS-2";

export interface SegmentCount {
  encoding: Encoding;
  /** Units used: GSM-7 septets (extension characters count 2) or UTF-16 code units. */
  units: number;
  segments: number;
  /** Units per part at this length (160/153 or 70/67). */
  perSegment: number;
  /** Units left in the last part before another one starts. */
  remaining: number;
  /** The characters that forced UCS-2 (each once), to show the agent. */
  unicode: string[];
}

/** Units of each character of `text` in its encoding (pairs kept whole). */
function units(text: string): { encoding: Encoding; sizes: number[]; unicode: string[] } {
  const chars = Array.from(text); // code points: a surrogate pair stays one character
  const unicode = [...new Set(chars.filter((c) => !basic.has(c) && !extended.has(c)))];
  if (unicode.length === 0) {
    return { encoding: "GSM-7", sizes: chars.map((c) => (extended.has(c) ? 2 : 1)), unicode };
  }
  return { encoding: "UCS-2", sizes: chars.map((c) => c.length), unicode };
}

/** The SMS count of `text` (0 segments for an empty text). */
export function countSegments(text: string): SegmentCount {
  const { encoding, sizes, unicode } = units(text);
  const single = encoding === "GSM-7" ? 160 : 70;
  const part = encoding === "GSM-7" ? 153 : 67;
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total === 0) return { encoding, units: 0, segments: 0, perSegment: single, remaining: single, unicode };
  if (total <= single) {
    return { encoding, units: total, segments: 1, perSegment: single, remaining: single - total, unicode };
  }
  // Fill parts character by character: a character that does not fit starts the next part.
  let segments = 1;
  let used = 0;
  for (const size of sizes) {
    if (used + size > part) {
      segments += 1;
      used = 0;
    }
    used += size;
  }
  return { encoding, units: total, segments, perSegment: part, remaining: part - used, unicode };
}
