// Where the agent writes: a textarea or the email editor, seen the same way by the
// composer's "/" and "@" pickers.

export interface Surface {
  /** The text before the caret (in the current text node for rich text), or null. */
  before(): string | null;
  /** Replaces the `length` characters before the caret with `text`. */
  replace(length: number, text: string): void;
  text(): string;
  /** The HTML written (rich text only; "" for plain text). */
  html(): string;
  clear(): void;
  focus(): void;
}

/** A textarea as a surface, its text kept in `get`/`set` (the composer's model). */
export function textareaSurface(
  element: () => HTMLTextAreaElement | null,
  get: () => string,
  set: (text: string) => void,
): Surface {
  return {
    before: () => {
      const el = element();
      if (!el || el.selectionStart !== el.selectionEnd) return null;
      return get().slice(0, el.selectionStart ?? get().length);
    },
    replace: (length, text) => {
      const el = element();
      const value = get();
      const caret = el?.selectionStart ?? value.length;
      const start = Math.max(0, caret - length);
      set(value.slice(0, start) + text + value.slice(caret));
      const at = start + text.length;
      queueMicrotask(() => {
        el?.focus();
        el?.setSelectionRange(at, at);
      });
    },
    text: get,
    html: () => "",
    clear: () => set(""),
    focus: () => element()?.focus(),
  };
}
