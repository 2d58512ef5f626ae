// Triggers typed in the composer: "/" for a canned response, "@" for a user in a note.
// A trigger counts at the start of a word only (so "a/b" or "ann@example.com" are text),
// and what follows it up to the caret, without spaces, is the query.

export interface Trigger {
  char: string;
  /** What was typed after the trigger char. */
  query: string;
  /** Where the trigger char is in the text before the caret. */
  start: number;
}

const MAX_QUERY = 64;

/** The trigger being typed at the end of `before` (the text before the caret), if any. */
export function triggerAt(before: string, chars: string): Trigger | null {
  for (let i = before.length - 1; i >= 0 && before.length - i <= MAX_QUERY + 1; i--) {
    const c = before[i]!;
    if (/\s/.test(c)) return null;
    if (chars.includes(c)) {
      const prev = i === 0 ? "" : before[i - 1]!;
      if (prev !== "" && !/\s/.test(prev)) return null;
      return { char: c, query: before.slice(i + 1), start: i };
    }
  }
  return null;
}

/** Whether `candidate` matches a typed query: a prefix of it or of one of its words. */
export function matches(candidate: string, query: string): boolean {
  const q = query.toLowerCase();
  if (!q) return true;
  const c = candidate.toLowerCase();
  return c.startsWith(q) || c.split(/\s+/).some((w) => w.startsWith(q));
}

/** The text a mention leaves in a note: "@Ann Smith". */
export function mentionText(name: string): string {
  return `@${name}`;
}

/** The users picked while writing whose mention is still in `body`, each once, in order. */
export function mentionedIds(body: string, picked: Map<number, string>): number[] {
  return [...picked].filter(([, name]) => body.includes(mentionText(name))).map(([id]) => id);
}
