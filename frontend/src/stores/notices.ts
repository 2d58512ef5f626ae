// The desk's desktop notifications: the events of the stream that a rule picks go through
// the notifier (lib/notify.ts), once their contact is known (its name is the notice's).
import type { Router } from "vue-router";
import { api, type EventOut } from "../api/client";
import { createNotifier, NOTICE_RULES, showNotice, tabFocused } from "../lib/notify";
import { current, directory, ensureContact, onDeskEvent } from "./desk";
import { session } from "./session";

/** Starts notifying; returns "stop". */
export function startNotices(router: Router): () => void {
  const notifier = createNotifier({
    context: () => ({
      userId: session.me?.user.id ?? null,
      openConversationId: current.id,
      contactName: (id) => (id === null ? "" : directory.contacts.get(id)?.name) || "A customer",
    }),
    focused: tabFocused,
    show: (notice) =>
      showNotice(notice, (id) => void router.push({ name: "conversation", params: { id: String(id) } })),
  });
  const types = new Set(NOTICE_RULES.map((r) => r.type));
  return onDeskEvent((event) => {
    if (types.has(event.type)) void withContact(event).then(notifier);
  });
}

/** The event with its contact known (an offer's event names only the conversation). */
async function withContact(event: EventOut): Promise<EventOut> {
  let contactId = event.contact_id;
  try {
    if (contactId === null && event.conversation_id !== null) {
      const path = { conversation_id: event.conversation_id };
      const { data } = await api.GET("/api/v1/conversations/{conversation_id}", { params: { path } });
      contactId = data?.contact_id ?? null;
    }
    if (contactId !== null) await ensureContact(contactId);
  } catch {
    // the notice says "a customer"
  }
  return { ...event, contact_id: contactId };
}
