// Desktop notifications: a new offer, a conversation given to the agent, a customer's new
// message in the agent's conversations, … — while the agent looks elsewhere. Permission is
// asked only from a click (`enableNotices`, the header's bell), and the choice is remembered.
//
// What notifies is data: one `NoticeRule` per event type in `NOTICE_RULES`. A rule says
// whom the event concerns and what to show; by default only when the tab is in the
// background, or also while it has the focus (`whenFocused`) unless its conversation is the
// one open on screen. Clicking a notice focuses the tab and opens its conversation.
import { reactive } from "vue";
import type { EventOut } from "../api/client";
import { channelLabel } from "./format";

export interface Notice {
  title: string;
  body: string;
  /** Opened on click (null: just focus the tab, e.g. for an offer, answered in its pop-up). */
  conversationId: number | null;
  /** Notices with the same tag replace each other. */
  tag: string;
}

export interface NoticeContext {
  userId: number | null;
  openConversationId: number | null;
  contactName: (contactId: number | null) => string;
}

export interface NoticeRule {
  type: string;
  /** The notice for this event, or null when it does not concern this agent. */
  notice: (event: EventOut, ctx: NoticeContext) => Notice | null;
  /** Also while the tab has the focus, unless the conversation is the open one. */
  whenFocused?: boolean;
}

function text(value: unknown, max = 140): string {
  const s = typeof value === "string" ? value.replace(/\s+/g, " ").trim() : "";
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export const NOTICE_RULES: NoticeRule[] = [
  {
    type: "offer.made",
    notice: (e, c) =>
      e.assignee_id !== null && e.assignee_id === c.userId
        ? {
            title: "A new conversation is offered to you",
            body: `${channelLabel(String(e.data["channel"] ?? ""))} · ${c.contactName(e.contact_id)}`,
            conversationId: null,
            tag: `offer-${String(e.data["offer_id"])}`,
          }
        : null,
  },
  {
    type: "conversation.assigned",
    whenFocused: true,
    notice: (e, c) =>
      e.assignee_id !== null && e.assignee_id === c.userId && e.actor_user_id !== c.userId
        ? {
            title: "A conversation is yours now",
            body: c.contactName(e.contact_id),
            conversationId: e.conversation_id,
            tag: `conversation-${String(e.conversation_id)}`,
          }
        : null,
  },
  {
    type: "message.received",
    notice: (e, c) => {
      const message = (e.data["message"] ?? {}) as Record<string, unknown>;
      if (e.assignee_id === null || e.assignee_id !== c.userId || message["private"] === true) return null;
      return {
        title: c.contactName(e.contact_id),
        body: text(message["body"]) || "New message",
        conversationId: e.conversation_id,
        tag: `conversation-${String(e.conversation_id)}`,
      };
    },
  },
];

export interface NotifierOptions {
  rules?: readonly NoticeRule[];
  context: () => NoticeContext;
  /** Whether the agent is looking at this tab. */
  focused: () => boolean;
  show: (notice: Notice) => void;
}

/** Reads events; shows a notice for those the rules pick, unless they are on screen. */
export function createNotifier(options: NotifierOptions): (event: EventOut) => Notice | null {
  const rules = options.rules ?? NOTICE_RULES;
  return (event) => {
    const ctx = options.context();
    for (const rule of rules) {
      if (rule.type !== event.type) continue;
      const notice = rule.notice(event, ctx);
      if (notice === null) continue;
      if (options.focused()) {
        const onScreen = notice.conversationId !== null && notice.conversationId === ctx.openConversationId;
        if (!rule.whenFocused || onScreen) continue;
      }
      options.show(notice);
      return notice;
    }
    return null;
  };
}

// The browser's side ----------------------------------------------------------------------

const KEY = "omnidesk.notifications";

export type NoticePermission = NotificationPermission | "unsupported";

function permission(): NoticePermission {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

function storedChoice(): boolean {
  try {
    return localStorage.getItem(KEY) === "on";
  } catch {
    return false;
  }
}

function remember(on: boolean): void {
  try {
    localStorage.setItem(KEY, on ? "on" : "off");
  } catch {
    // private mode: the choice lasts for this page
  }
}

export const notices = reactive({ permission: permission(), wanted: storedChoice() });

/** On when the agent wants them and the browser allows them. */
export function noticesOn(): boolean {
  return notices.wanted && notices.permission === "granted";
}

/** From a click: ask the browser (once) and turn notices on if it allows them. */
export async function enableNotices(): Promise<void> {
  if (typeof Notification === "undefined") return;
  notices.permission = Notification.permission === "default" ? await Notification.requestPermission() : Notification.permission;
  notices.wanted = notices.permission === "granted";
  remember(notices.wanted);
}

export function disableNotices(): void {
  notices.wanted = false;
  remember(false);
}

/** Shows a notice through the browser; a click focuses the tab and calls `open`. */
export function showNotice(notice: Notice, open: (conversationId: number) => void): void {
  if (!noticesOn()) return;
  const shown = new Notification(notice.title, { body: notice.body, tag: notice.tag });
  shown.onclick = () => {
    window.focus();
    if (notice.conversationId !== null) open(notice.conversationId);
    shown.close();
  };
}

export function tabFocused(): boolean {
  return document.visibilityState === "visible" && document.hasFocus();
}
