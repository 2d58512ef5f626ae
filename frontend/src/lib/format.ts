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
    default:
      return null;
  }
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
