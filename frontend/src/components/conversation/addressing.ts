// An email reply's default To, Cc and Subject, as the server would choose them
// (omnidesk/channels/email/adapter.py): to the customer, copying the others of their last
// mail but never our own addresses, "Re: <subject>". The agent may change any of them.
import type { Contact, Inbox, Message } from "../../api/client";

const REPLY_PREFIX = /^\s*(re|aw|sv|antw|vs|r)\s*(\[\d+\])?\s*:/i;

/** The customer's email address the server replies to (their first email identity). */
export function defaultTo(contact: Contact | undefined): string {
  const emails = (contact?.identities ?? []).filter((i) => i.kind === "email");
  emails.sort((a, b) => a.id - b.id);
  return emails[0]?.value ?? "";
}

function split(address: string): [string, string] {
  const at = address.lastIndexOf("@");
  return at < 1 ? ["", ""] : [address.slice(0, at).split("+")[0]!.toLowerCase(), address.slice(at + 1).toLowerCase()];
}

/** Whether `address` reaches this inbox (its address with any plus-tag, its forwarding one). */
export function isOwn(address: string, inbox: Inbox | undefined): boolean {
  if (!inbox) return false;
  const [local, domain] = split(address);
  const own = typeof inbox.config["address"] === "string" ? split(inbox.config["address"]) : null;
  if (own && local === own[0] && domain === own[1]) return true;
  return !!inbox.forwarding_address && split(inbox.forwarding_address).join("@") === `${local}@${domain}`;
}

/** Reply-all: the others on the customer's last mail, each once, never us nor `to`. */
export function defaultCc(messages: Message[], to: string, inbox: Inbox | undefined): string[] {
  const last = [...messages].reverse().find((m) => m.direction === "inbound" && m.kind === "message");
  const meta = last?.meta ?? {};
  const seen = new Set([to.toLowerCase()]);
  const out: string[] = [];
  for (const field of ["to", "cc"]) {
    const values = meta[field];
    for (const value of Array.isArray(values) ? values : []) {
      if (typeof value !== "string" || !value.includes("@")) continue;
      const address = value.trim();
      if (seen.has(address.toLowerCase()) || isOwn(address, inbox)) continue;
      seen.add(address.toLowerCase());
      out.push(address);
    }
  }
  return out;
}

/** "Re: <subject>" (never "Re: Re:"). */
export function replySubject(subject: string): string {
  let text = subject.replace(/[\r\n\t]+/g, " ").trim();
  if (!text) return "Re: (no subject)";
  for (let found = REPLY_PREFIX.exec(text); found; found = REPLY_PREFIX.exec(text)) {
    text = text.slice(found[0].length).trimStart();
  }
  return `Re: ${text}`;
}

/** Addresses typed in a field: separated by commas, semicolons or spaces. */
export function parseAddresses(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((a) => a.trim().replace(/^<|>$/g, ""))
    .filter(Boolean);
}
