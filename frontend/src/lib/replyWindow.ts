// Channels with a reply window (WhatsApp: 24 hours after the customer's last message) only
// take free text while it is open; after that only an approved template may be sent. The
// server refuses late free text (422 outside_window); this lets the composer say so first.

export interface WindowMessage {
  direction: string;
  kind: string;
  created_at: string;
}

export interface ReplyWindow {
  /** Whether free text may be sent now. */
  open: boolean;
  lastInboundAt: Date | null;
  closesAt: Date | null;
  /** Why free text is disabled, for the agent; "" while open. */
  reason: string;
}

/** The window of a conversation whose channel allows free text ``hours`` after the customer
 * last wrote (no limit when ``hours`` is null). */
export function replyWindow(messages: WindowMessage[], hours: number | null | undefined, now: Date): ReplyWindow {
  let last: Date | null = null;
  for (const m of messages) {
    if (m.direction !== "inbound" || m.kind !== "message") continue;
    const at = new Date(m.created_at);
    if (!last || at > last) last = at;
  }
  if (!hours) return { open: true, lastInboundAt: last, closesAt: null, reason: "" };
  if (!last) {
    return {
      open: false,
      lastInboundAt: null,
      closesAt: null,
      reason: "The customer has not written yet: only an approved template can start the conversation.",
    };
  }
  const closesAt = new Date(last.getTime() + hours * 3600_000);
  if (now < closesAt) return { open: true, lastInboundAt: last, closesAt, reason: "" };
  return {
    open: false,
    lastInboundAt: last,
    closesAt,
    reason:
      `More than ${hours} hours since the customer last wrote (${last.toLocaleString()}): ` +
      "free text is not allowed until they write again. Send an approved template.",
  };
}

/** Hours and minutes left, for a hint such as "free text for 3 h 20 min more". */
export function timeLeft(window: ReplyWindow, now: Date): string {
  if (!window.open || !window.closesAt) return "";
  const minutes = Math.max(0, Math.floor((window.closesAt.getTime() - now.getTime()) / 60_000));
  const h = Math.floor(minutes / 60);
  return h ? `${h} h ${minutes % 60} min` : `${minutes} min`;
}

const VARIABLE = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** The variables (``body.1``…) still without a value. */
export function missingVariables(variables: string[], values: Record<string, string>): string[] {
  return variables.filter((name) => !(values[name] ?? "").trim());
}

/** A template's text with the values typed so far; an empty one shows as its placeholder.
 * ``parts`` are the template's components' texts keyed by component (``header``, ``body``). */
export function fillTemplate(parts: { component: string; text: string }[], values: Record<string, string>): string {
  return parts
    .map(({ component, text }) =>
      text.replace(VARIABLE, (whole, name: string) => {
        const value = (values[`${component}.${name}`] ?? "").trim();
        return value || whole;
      }),
    )
    .filter((text) => text)
    .join("\n\n");
}
