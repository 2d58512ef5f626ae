/** The visitor protocol (v1), as docs/channels/webchat.md defines it. Fields the widget does
 * not know are kept and ignored: the server may add optional ones. */

export type MessageId = number | string;

export interface Attachment {
  id: MessageId;
  filename: string;
  content_type: string;
  size: number;
  url: string;
}

export type DeliveryStatus = "sent" | "delivered" | "read";

export interface Message {
  id: MessageId;
  client_id?: string | null;
  conversation_id: MessageId;
  direction: "inbound" | "outbound";
  body: string;
  sender: { type: "contact" | "user" | "system"; name?: string | null };
  attachments: Attachment[];
  status: DeliveryStatus;
  created_at: string;
}

export interface Conversation {
  id: MessageId;
  status: string;
  [extra: string]: unknown;
}

export interface PreChatField {
  name: string;
  label: string;
  type: "text" | "email" | "number" | "select";
  required: boolean;
  options?: string[] | null;
}

export interface Settings {
  title: string;
  greeting: string;
  colour: string;
  pre_chat_form: { enabled: boolean; fields: PreChatField[] };
  online: boolean;
  next_open_at?: string | null;
  expected_reply: string;
  attachments: { max_bytes: number; types: string[] };
  csat: boolean;
}

export interface Visitor {
  name?: string | null;
  email?: string | null;
}

export interface User {
  id: string;
  hash: string;
  name?: string;
  email?: string;
}

export interface SessionAnswer {
  visitor_token: string;
  visitor: Visitor;
  settings: Settings;
  conversation?: Conversation | null;
}

export interface PreChat {
  name?: string;
  email?: string;
  fields?: Record<string, string>;
}

export interface VisitorEvent {
  kind: "page_view" | "rage_click";
  url: string;
  title?: string;
  referrer?: string;
  x?: number;
  y?: number;
  selector?: string;
  at: string;
}

export type Frame =
  | { type: "hello"; after?: MessageId | null }
  | { type: "message"; message: Message }
  | { type: "typing"; typing: boolean; name?: string | null }
  | { type: "read"; message_id: MessageId }
  | { type: "status"; conversation_id: MessageId; status: string }
  | { type: "ping" };

/** Orders two message ids: numerically when both are numbers, else as text. */
export function compareIds(a: MessageId, b: MessageId): number {
  const x = typeof a === "number" ? a : Number(a);
  const y = typeof b === "number" ? b : Number(b);
  if (Number.isFinite(x) && Number.isFinite(y) && String(a) !== "" && String(b) !== "") {
    return x - y;
  }
  const s = String(a);
  const t = String(b);
  if (s.length !== t.length) return s.length - t.length;
  return s < t ? -1 : s > t ? 1 : 0;
}
