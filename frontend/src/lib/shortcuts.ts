// Keyboard shortcuts of the desktop. Single keys act only when the agent is not typing in a
// field; Alt+A / Alt+D answer an offer from anywhere.
export type Action = "search" | "next" | "previous" | "reply" | "help" | "accept" | "decline";

export const SHORTCUTS: { keys: string; action: Action; what: string }[] = [
  { keys: "/", action: "search", what: "Search conversations" },
  { keys: "j", action: "next", what: "Next conversation" },
  { keys: "k", action: "previous", what: "Previous conversation" },
  { keys: "r", action: "reply", what: "Write a reply" },
  { keys: "Alt+A", action: "accept", what: "Accept the offer" },
  { keys: "Alt+D", action: "decline", what: "Decline the offer" },
  { keys: "?", action: "help", what: "Show these shortcuts" },
];

export interface KeyLike {
  key: string;
  code?: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  target: EventTarget | null;
}

function editing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLInputElement) return !["checkbox", "radio", "button"].includes(target.type);
  return target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
}

export function shortcutFor(event: KeyLike): Action | null {
  if (event.ctrlKey || event.metaKey) return null;
  if (event.altKey) {
    // Alt+letter types other characters on some layouts: read the physical key too.
    const letter = event.code?.startsWith("Key") ? event.code.slice(3).toLowerCase() : event.key.toLowerCase();
    if (letter === "a") return "accept";
    if (letter === "d") return "decline";
    return null;
  }
  if (editing(event.target)) return null;
  switch (event.key) {
    case "/":
      return "search";
    case "j":
      return "next";
    case "k":
      return "previous";
    case "r":
      return "reply";
    case "?":
      return "help";
    default:
      return null;
  }
}

/** The conversation `step` away from `current` in `ids` (the first one when none is open). */
export function neighbour(ids: number[], current: number | null, step: 1 | -1): number | null {
  if (ids.length === 0) return null;
  const at = current === null ? -1 : ids.indexOf(current);
  if (at === -1) return ids[0] ?? null;
  return ids[Math.min(ids.length - 1, Math.max(0, at + step))] ?? null;
}
