export function timeAgo(iso: string, now: number = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return "now";
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

export function clock(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}

const CHANNELS: Record<string, string> = {
  webchat: "Chat",
  email: "Email",
  api: "API",
  sms: "SMS",
  whatsapp: "WhatsApp",
  voice: "Phone",
};

export function channelLabel(channel: string): string {
  return CHANNELS[channel] ?? (channel || "—");
}

/** What an event in a conversation's history says, for the timeline (null: not shown). */
export function describeEvent(type: string, data: Record<string, unknown>): string | null {
  switch (type) {
    case "conversation.created":
      return "Conversation started";
    case "conversation.assigned":
      return data["assignee_id"] ? "Assigned" : "Unassigned";
    case "conversation.status_changed":
      return `Status: ${String(data["to"] ?? data["status"] ?? "changed")}`;
    case "conversation.resolved":
      return "Resolved";
    case "offer.accepted":
      return "Offer accepted";
    case "conversation.csat_received":
      return `Rated ${String(data["rating"] ?? "")}`;
    case "sla.warning":
      return `SLA: ${targetLabel(data["kind"])} due soon`;
    case "sla.breached":
      return `SLA: ${targetLabel(data["kind"])} breached`;
    case "note.mentioned":
      return "Mentioned in a note";
    case "conversation.form_applied":
      return "Ticket form applied";
    case "conversation.categorised":
      return categorised(data);
    default:
      return null;
  }
}

/** `Categorised: billing, category = Billing` (what was applied), or what was suggested. */
function categorised(data: Record<string, unknown>): string {
  const applied = (data["applied"] ?? {}) as { tags?: string[]; custom_fields?: Record<string, unknown> };
  const parts = [
    ...(applied.tags ?? []),
    ...Object.entries(applied.custom_fields ?? {}).map(([k, v]) => `${k} = ${String(v)}`),
  ];
  if (parts.length) return `Categorised: ${parts.join(", ")}`;
  const suggested = ((data["suggestions"] ?? []) as { tag?: string | null; field_key?: string | null }[])
    .map((s) => s.tag ?? s.field_key)
    .filter(Boolean);
  return `Suggested: ${suggested.join(", ")}`;
}

const TARGETS: Record<string, string> = {
  first_response: "first response",
  next_response: "next response",
  resolution: "resolution",
};

function targetLabel(kind: unknown): string {
  return TARGETS[String(kind)] ?? "target";
}

interface SlaTarget {
  kind: string;
  state: string;
  remaining_s: number;
}

/** The inbox row's SLA badge: the most urgent target breached or due soon (null: none). */
export function slaBadge(
  sla: { targets: readonly SlaTarget[] } | null | undefined,
): { state: "breached" | "warning"; text: string } | null {
  const targets = sla?.targets ?? [];
  const breached = targets.find((t) => t.state === "breached");
  if (breached) return { state: "breached", text: `${targetLabel(breached.kind)} overdue` };
  const due = targets
    .filter((t) => t.state === "warning")
    .sort((a, b) => a.remaining_s - b.remaining_s)[0];
  if (!due) return null;
  const minutes = Math.max(0, Math.ceil(due.remaining_s / 60));
  const left = minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h`;
  return { state: "warning", text: `${targetLabel(due.kind)} in ${left}` };
}

/** Why a provider did not deliver a message, in the agent's words (see docs/channels/webhooks.md). */
const FAILURE_REASONS: Record<string, string> = {
  invalid_recipient: "the number or account cannot receive messages",
  blocked: "the customer or the provider blocked it",
  outside_window: "the reply window closed; send an approved template",
  opted_out: "the customer opted out (STOP)",
  rejected: "the provider refused its content",
  auth_failed: "the inbox's credentials were refused; ask an admin",
  rate_limited: "the provider is limiting us; it will be retried",
  provider_unavailable: "the provider did not answer; it will be retried",
};

/** A message's delivery as the timeline shows it: "read", or "not delivered: <why>". */
export function deliveryText(status: string | null, reason?: string | null): string {
  if (!status) return "";
  if (status !== "failed") return status;
  const why = reason ? FAILURE_REASONS[reason] : undefined;
  return why ? `not delivered: ${why}` : "not delivered";
}
