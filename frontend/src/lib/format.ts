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
    default:
      return null;
  }
}
