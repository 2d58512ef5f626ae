// The desk's desktop notifications: every event of the stream goes through the notifier
// (lib/notify.ts) with what it needs to know about the desk.
import type { Router } from "vue-router";
import { createNotifier, showNotice, tabFocused } from "../lib/notify";
import { contactName, current, onDeskEvent } from "./desk";
import { session } from "./session";

/** Starts notifying; returns "stop". */
export function startNotices(router: Router): () => void {
  const notifier = createNotifier({
    context: () => ({
      userId: session.me?.user.id ?? null,
      openConversationId: current.id,
      contactName: (id) => (id === null ? "A customer" : contactName(id)),
    }),
    focused: tabFocused,
    show: (notice) =>
      showNotice(notice, (id) => void router.push({ name: "conversation", params: { id: String(id) } })),
  });
  return onDeskEvent((event) => void notifier(event));
}
