// Keyboard shortcuts of the desktop. Single keys and two-key sequences ("g i") act only when
// the agent is not typing in a field; Alt+A / Alt+D answer an offer from anywhere.
//
// `SHORTCUTS` is the one table: the help lists it, the reader reads keys with it. What a
// shortcut does is registered by the screen or component that owns it (`onAction`): the
// latest handler registered for an action runs first, and may return false to pass it on.
export type Action =
  | "search"
  | "next"
  | "previous"
  | "reply"
  | "note"
  | "resolve"
  | "pending"
  | "assign"
  | "contact"
  | "tab-1"
  | "tab-2"
  | "tab-3"
  | "tab-4"
  | "go-inbox"
  | "go-wallboard"
  | "close"
  | "help"
  | "accept"
  | "decline";

export interface Shortcut {
  /** The keys as shown, a space between the keys of a sequence ("g i"). */
  keys: string;
  action: Action;
  what: string;
  group: "Conversation" | "Inbox" | "Go to" | "Offers" | "Desktop";
}

export const SHORTCUTS: readonly Shortcut[] = [
  { keys: "r", action: "reply", what: "Write a reply", group: "Conversation" },
  { keys: "n", action: "note", what: "Write an internal note", group: "Conversation" },
  { keys: "e", action: "resolve", what: "Resolve", group: "Conversation" },
  { keys: "p", action: "pending", what: "Set pending", group: "Conversation" },
  { keys: "a", action: "assign", what: "Assign to me", group: "Conversation" },
  { keys: "c", action: "contact", what: "Show or hide the contact", group: "Conversation" },
  { keys: "Esc", action: "close", what: "Close (the contact, then the conversation)", group: "Conversation" },
  { keys: "/", action: "search", what: "Search conversations", group: "Inbox" },
  { keys: "j", action: "next", what: "Next conversation", group: "Inbox" },
  { keys: "k", action: "previous", what: "Previous conversation", group: "Inbox" },
  { keys: "1", action: "tab-1", what: "Mine", group: "Inbox" },
  { keys: "2", action: "tab-2", what: "Unassigned", group: "Inbox" },
  { keys: "3", action: "tab-3", what: "My teams", group: "Inbox" },
  { keys: "4", action: "tab-4", what: "All", group: "Inbox" },
  { keys: "g i", action: "go-inbox", what: "Go to the inbox", group: "Go to" },
  { keys: "g w", action: "go-wallboard", what: "Go to the wallboard", group: "Go to" },
  { keys: "Alt+A", action: "accept", what: "Accept the offer", group: "Offers" },
  { keys: "Alt+D", action: "decline", what: "Decline the offer", group: "Offers" },
  { keys: "?", action: "help", what: "Show these shortcuts", group: "Desktop" },
];

export interface KeyLike {
  key: string;
  code?: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  target: EventTarget | null;
}

const KEY_NAMES: Record<string, string> = { Esc: "Escape" };

function keysOf(shortcut: Shortcut): string[] {
  return shortcut.keys.split(" ").map((k) => KEY_NAMES[k] ?? k);
}

const SINGLE = new Map<string, Action>();
const SEQUENCES = new Map<string, Map<string, Action>>();
const ALT = new Map<string, Action>();
for (const s of SHORTCUTS) {
  const keys = keysOf(s);
  const [first, second] = keys;
  if (first === undefined) continue;
  if (first.startsWith("Alt+")) ALT.set(first.slice(4).toLowerCase(), s.action);
  else if (second === undefined) SINGLE.set(first, s.action);
  else {
    const next = SEQUENCES.get(first) ?? new Map<string, Action>();
    next.set(second, s.action);
    SEQUENCES.set(first, next);
  }
}

function editing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLInputElement) return !["checkbox", "radio", "button"].includes(target.type);
  return target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
}

function altAction(event: KeyLike): Action | null {
  // Alt+letter types other characters on some layouts: read the physical key too.
  const letter = event.code?.startsWith("Key") ? event.code.slice(3).toLowerCase() : event.key.toLowerCase();
  return ALT.get(letter) ?? null;
}

/** The action of one key press on its own (sequences need `createReader`). */
export function shortcutFor(event: KeyLike): Action | null {
  if (event.ctrlKey || event.metaKey) return null;
  if (event.altKey) return altAction(event);
  if (editing(event.target)) return null;
  return SINGLE.get(event.key) ?? null;
}

/** Reads key presses one after another, sequences included ("g" then "i"). */
export function createReader(): (event: KeyLike) => Action | null {
  let prefix: Map<string, Action> | null = null;
  return (event) => {
    const started = prefix;
    prefix = null;
    if (event.ctrlKey || event.metaKey || event.altKey || editing(event.target)) {
      return shortcutFor(event);
    }
    const ended = started?.get(event.key);
    if (ended) return ended;
    const next = SEQUENCES.get(event.key);
    if (next) {
      prefix = next;
      return null;
    }
    return SINGLE.get(event.key) ?? null;
  };
}

/** What an action does; false: not handled here (the one registered before runs). */
export type Handler = () => boolean | void;

const handlers = new Map<Action, Handler[]>();

/** Register what `action` does while the caller is there; returns "unregister". */
export function onAction(action: Action, handler: Handler): () => void {
  const list = handlers.get(action) ?? [];
  list.push(handler);
  handlers.set(action, list);
  return () => {
    const now = handlers.get(action) ?? [];
    const at = now.lastIndexOf(handler);
    if (at !== -1) now.splice(at, 1);
  };
}

/** Runs the action's latest handler (then earlier ones while they decline); true if done. */
export function runAction(action: Action): boolean {
  const list = [...(handlers.get(action) ?? [])];
  for (let i = list.length - 1; i >= 0; i--) {
    if (list[i]?.() !== false) return true;
  }
  return false;
}

/** The conversation `step` away from `current` in `ids` (the first one when none is open). */
export function neighbour(ids: number[], current: number | null, step: 1 | -1): number | null {
  if (ids.length === 0) return null;
  const at = current === null ? -1 : ids.indexOf(current);
  if (at === -1) return ids[0] ?? null;
  return ids[Math.min(ids.length - 1, Math.max(0, at + step))] ?? null;
}
