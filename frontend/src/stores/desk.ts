// The agent desktop's live state, wired together: the event stream, offers, the inbox, the
// open conversation, presence and small caches (inboxes, queues, contacts).
import { reactive } from "vue";
import {
  api,
  ok,
  type Agent,
  type AwayReason,
  type Contact,
  type Conversation,
  type EventOut,
  type Inbox,
  type Message,
  type Presence,
  type Schemas,
} from "../api/client";
import { beep } from "../lib/beep";
import { coalesce } from "../lib/coalesce";
import { EventStream, socketUrl, type LiveFrame, type StreamState } from "../lib/stream";
import { createInbox, query, restoreFilters, type Context as InboxContext } from "./inbox";
import { createOffers, offerFromApi } from "./offers";
import { session } from "./session";

type ConversationUpdate = Schemas["ConversationUpdate"];

const userId = (): number | null => session.me?.user.id ?? null;

export const directory = reactive({
  inboxes: new Map<number, Inbox>(),
  queues: new Map<number, string>(),
  contacts: new Map<number, Contact>(),
  /** Conversations offered to the agent (for the offer pop-up). */
  offered: new Map<number, Conversation>(),
  awayReasons: [] as AwayReason[],
  users: new Map<number, string>(),
});

export function channelOf(inboxId: number | null): string {
  return inboxId === null ? "" : (directory.inboxes.get(inboxId)?.channel_type ?? "");
}

export function contactName(contactId: number): string {
  const contact = directory.contacts.get(contactId);
  return contact ? contact.name || `Contact #${contactId}` : "…";
}

/** Contacts being fetched: a second caller waits for the same request. */
const loadingContacts = new Map<number, Promise<void>>();

export function ensureContact(contactId: number): Promise<void> {
  return ensureContacts([contactId]);
}

/** Contacts not known yet, in one request (a page of the inbox); resolves once all are in. */
export function ensureContacts(contactIds: number[]): Promise<void> {
  const ids = [...new Set(contactIds)].filter((id) => !directory.contacts.has(id));
  const waiting = ids.flatMap((id) => loadingContacts.get(id) ?? []);
  const wanted = ids.filter((id) => !loadingContacts.has(id));
  if (wanted.length > 0) {
    const request = fetchContacts(wanted).finally(() => {
      for (const id of wanted) loadingContacts.delete(id);
    });
    for (const id of wanted) loadingContacts.set(id, request);
    waiting.push(request);
  }
  return Promise.all(waiting).then(() => undefined);
}

async function fetchContacts(ids: number[]): Promise<void> {
  const [only] = ids;
  if (ids.length === 1 && only !== undefined) {
    const { data } = await api.GET("/api/v1/contacts/{contact_id}", {
      params: { path: { contact_id: only } },
    });
    if (data) directory.contacts.set(only, data);
    return;
  }
  const { data } = await api.GET("/api/v1/contacts", { params: { query: { ids, limit: 200 } } });
  for (const contact of data?.items ?? []) directory.contacts.set(contact.id, contact);
}

export const live = reactive({
  stream: "offline" as StreamState,
  presence: null as Agent | null,
  /** A conversation just given to the agent without an offer (shown with a link). */
  notice: null as number | null,
});

let noticeTimer: ReturnType<typeof setTimeout> | undefined;

function notify(conversationId: number): void {
  live.notice = conversationId;
  beep();
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (live.notice = null), 15_000);
}

export const offers = createOffers(userId);

const FILTERS_KEY = "omnidesk.inbox.filters";

function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** What the inbox's filters read about the desk (the user, teams, inboxes' channels). */
export const inboxContext: InboxContext = {
  userId,
  channelOf,
  teamIds: () => session.me?.team_ids ?? [],
  channels: () => [...new Set([...directory.inboxes.values()].map((i) => i.channel_type))],
};

export const inbox = createInbox(
  inboxContext,
  async (filters, cursor) => {
    const page = await ok(
      api.GET("/api/v1/conversations", {
        params: { query: { ...query(filters), cursor: cursor ?? undefined, limit: 25 } },
      }),
    );
    void ensureContacts(page.items.map((c) => c.contact_id));
    return page;
  },
  {
    initial: restoreFilters(stored(FILTERS_KEY)),
    save: ({ q: _q, ...kept }) => {
      try {
        localStorage.setItem(FILTERS_KEY, JSON.stringify(kept));
      } catch {
        // private mode: the filters last for this page
      }
    },
  },
);

// The open conversation -------------------------------------------------------------------

export const current = reactive({
  id: null as number | null,
  conversation: null as Conversation | null,
  messages: [] as Message[],
  events: [] as EventOut[],
  error: "",
});

export async function openConversation(id: number): Promise<void> {
  if (current.id !== id) {
    Object.assign(current, { id, conversation: null, messages: [], events: [], error: "" });
  }
  await refreshCurrent();
}

export function closeConversation(): void {
  Object.assign(current, { id: null, conversation: null, messages: [], events: [], error: "" });
}

/** The open conversation fetched again (one at a time: answers never land out of order). */
const refreshCurrent = (): Promise<void> => refreshOpen(null);
const refreshOpen = coalesce(async (_: null) => {
  const id = current.id;
  if (id === null) return;
  const path = { conversation_id: id };
  try {
    const [conversation, messages, events] = await Promise.all([
      ok(api.GET("/api/v1/conversations/{conversation_id}", { params: { path } })),
      allMessages(id),
      ok(api.GET("/api/v1/conversations/{conversation_id}/events", { params: { path } })),
    ]);
    if (current.id !== id) return;
    current.conversation = conversation;
    current.messages = messages;
    current.events = events;
    void ensureContact(conversation.contact_id);
    inbox.upsert(conversation);
    void markRead(conversation, messages);
  } catch (err) {
    if (current.id === id) current.error = (err as Error).message;
  }
});

/** The macros this agent may run (shared with the account, their teams, or their own). */
export async function listMacros(): Promise<Schemas["MacroOut"][]> {
  return ok(api.GET("/api/v1/automation/macros"));
}

/** Run a macro's actions on the open conversation as this agent, then show the outcome. */
export async function applyMacro(macroId: number): Promise<void> {
  const id = current.id;
  if (id === null) return;
  await ok(
    api.POST("/api/v1/conversations/{conversation_id}/macros/{macro_id}/apply", {
      params: { path: { conversation_id: id, macro_id: macroId } },
    }),
  );
  await refreshCurrent();
}

export async function allMessages(id: number): Promise<Message[]> {
  const out: Message[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await ok(
      api.GET("/api/v1/conversations/{conversation_id}/messages", {
        params: { path: { conversation_id: id }, query: { cursor, limit: 200 } },
      }),
    );
    out.push(...page.items);
    if (!page.next_cursor) return out;
    cursor = page.next_cursor;
  }
}

export async function updateConversation(body: ConversationUpdate): Promise<void> {
  if (current.id === null) return;
  const conversation = await ok(
    api.PATCH("/api/v1/conversations/{conversation_id}", {
      params: { path: { conversation_id: current.id } },
      body,
    }),
  );
  current.conversation = conversation;
  inbox.upsert(conversation);
  await refreshCurrent();
}

/** What a message may carry beyond its text: attachments, an email's fields, mentions. */
export type MessageExtras = Omit<Schemas["MessageCreate"], "body" | "private">;

export async function sendMessage(
  body: string,
  isPrivate: boolean,
  extras: MessageExtras = {},
): Promise<void> {
  if (current.id === null) return;
  await ok(
    api.POST("/api/v1/conversations/{conversation_id}/messages", {
      params: { path: { conversation_id: current.id } },
      body: { body, private: isPrivate, ...extras },
    }),
  );
  await refreshCurrent();
}

/** Reply with a channel's approved template (WhatsApp, also after its 24-hour window). */
export async function sendTemplate(conversationId: number, choice: Schemas["TemplateChoice"]): Promise<void> {
  await ok(
    api.POST("/api/v1/conversations/{conversation_id}/templates", {
      params: { path: { conversation_id: conversationId } },
      body: choice,
    }),
  );
  if (current.id === conversationId) await refreshCurrent();
}

// Read receipts and typing (web chat: the visitor sees them) -------------------------------

const readUpTo = new Map<number, number>();

async function markRead(conversation: Conversation, messages: Message[]): Promise<void> {
  if (channelOf(conversation.inbox_id) !== "webchat" || document.hidden) return;
  const last = [...messages].reverse().find((m) => m.direction === "inbound" && m.kind === "message");
  if (!last || (readUpTo.get(conversation.id) ?? 0) >= last.id) return;
  readUpTo.set(conversation.id, last.id);
  await api.POST("/api/v1/conversations/{conversation_id}/read", {
    params: { path: { conversation_id: conversation.id } },
    body: { message_id: last.id },
  });
}

const TYPING_RENEW_MS = 3000; // the server forgets "typing" after a few seconds
const typingState = { on: false, at: 0 };

/** The agent is writing a reply (true) or stopped (false); throttled. A web-chat visitor
 * sees it, and other agents in any channel (the collision indicator). */
export function typing(active: boolean): void {
  const c = current.conversation;
  if (!c) return;
  const now = Date.now();
  if (active === typingState.on && (!active || now - typingState.at < TYPING_RENEW_MS)) return;
  typingState.on = active;
  typingState.at = now;
  void api.POST("/api/v1/conversations/{conversation_id}/typing", {
    params: { path: { conversation_id: c.id } },
    body: { typing: active },
  });
}

// Presence ---------------------------------------------------------------------------------

export async function loadPresence(): Promise<void> {
  const id = userId();
  if (id === null) return;
  const { data } = await api.GET("/api/v1/routing/agents/{user_id}", {
    params: { path: { user_id: id } },
  });
  if (data) live.presence = data;
}

export async function setPresence(
  presence: Presence,
  reason: { reason_id?: number; reason?: string } = {},
): Promise<void> {
  const id = userId();
  if (id === null) return;
  live.presence = await ok(
    api.PUT("/api/v1/routing/agents/{user_id}/presence", {
      params: { path: { user_id: id } },
      body: { presence, ...reason },
    }),
  );
}

// Offers -----------------------------------------------------------------------------------

export async function acceptOffer(offerId: number): Promise<number> {
  const offer = await ok(
    api.POST("/api/v1/routing/offers/{offer_id}/accept", {
      params: { path: { offer_id: offerId } },
    }),
  );
  offers.remove(offerId);
  return offer.conversation_id;
}

export async function declineOffer(offerId: number, reason: string): Promise<void> {
  await ok(
    api.POST("/api/v1/routing/offers/{offer_id}/decline", {
      params: { path: { offer_id: offerId } },
      body: { reason: reason.trim() || null },
    }),
  );
  offers.remove(offerId);
}

// Live updates -----------------------------------------------------------------------------

async function refreshConversation(id: number): Promise<void> {
  const { data, response } = await api.GET("/api/v1/conversations/{conversation_id}", {
    params: { path: { conversation_id: id } },
  });
  if (data) {
    void ensureContact(data.contact_id);
    inbox.upsert(data);
  } else if (response.status === 404 || response.status === 403) {
    inbox.drop(id);
  }
}

/** One refresh per conversation at a time; events meanwhile ask for one more. */
const touch = coalesce(refreshConversation);

const listeners = new Set<(event: EventOut) => void>();

/** Hear every event of the desk's stream (a screen's own live view); returns "stop". */
export function onDeskEvent(listener: (event: EventOut) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const frameListeners = new Set<(frame: LiveFrame) => void>();

/** Hear the stream's live-only frames (`routing.stats`, `conversation.viewers`…); returns "stop". */
export function onDeskFrame(listener: (frame: LiveFrame) => void): () => void {
  frameListeners.add(listener);
  return () => frameListeners.delete(listener);
}

export function handleEvent(event: EventOut): void {
  for (const listener of listeners) listener(event);
  if (offers.apply(event)) {
    beep();
    if (event.conversation_id !== null) void ensureConversationContact(event.conversation_id);
  }
  // Work given without an offer (auto-accept, a supervisor, a transfer): say so.
  const me = userId();
  if (
    event.type === "conversation.assigned" &&
    event.assignee_id === me &&
    event.actor_user_id !== me &&
    event.conversation_id !== null &&
    event.conversation_id !== current.id
  ) {
    notify(event.conversation_id);
  }
  if (event.type.startsWith("agent.presence") && event.data["user_id"] === userId()) {
    void loadPresence();
  }
  if ((event.type === "contact.updated" || event.type.includes("merge")) && event.contact_id !== null) {
    // A renamed or merged contact: fetched again where it is shown.
    directory.contacts.delete(event.contact_id);
    void ensureContact(event.contact_id);
  }
  if (event.conversation_id !== null) {
    touch(event.conversation_id);
    if (event.conversation_id === current.id) void refreshCurrent();
  }
}

async function ensureConversationContact(conversationId: number): Promise<void> {
  const { data } = await api.GET("/api/v1/conversations/{conversation_id}", {
    params: { path: { conversation_id: conversationId } },
  });
  if (!data) return;
  directory.offered.set(conversationId, data);
  await ensureContact(data.contact_id);
}

let stream: EventStream | null = null;

/** Opens the event stream; the inbox loads once it is live, so nothing falls in between. */
export async function startDesk(onSignedOut: () => void): Promise<void> {
  if (stream) return;
  let first = true;
  stream = new EventStream({
    url: socketUrl,
    onEvent: handleEvent,
    onFrame: (frame) => {
      for (const listener of frameListeners) listener(frame);
    },
    onUnauthorized: onSignedOut,
    onState: (state) => {
      live.stream = state;
      if (state === "live" && first) {
        first = false;
        void inbox.load();
        void loadOffers();
      }
    },
  });
  stream.start();
  offerTimer = setInterval(() => offers.tick(), 250);
  await Promise.all([loadDirectory(), loadPresence()]);
}

let offerTimer: ReturnType<typeof setInterval> | null = null;

export function stopDesk(): void {
  stream?.stop();
  stream = null;
  if (offerTimer !== null) clearInterval(offerTimer);
  offerTimer = null;
  // Nothing of this user's stays for the next one to log in on this tab.
  for (const o of offers.pending.value) offers.remove(o.id);
  inbox.state.items = [];
  inbox.state.cursor = null;
  closeConversation();
  live.presence = null;
  live.notice = null;
  directory.contacts.clear();
  directory.offered.clear();
  readUpTo.clear();
}

async function loadOffers(): Promise<void> {
  const { data } = await api.GET("/api/v1/routing/offers");
  for (const offer of data ?? []) {
    if (offer.agent_id === userId() && offer.status === "pending" && offers.add(offerFromApi(offer))) {
      void ensureConversationContact(offer.conversation_id);
    }
  }
}

async function loadDirectory(): Promise<void> {
  const [inboxes, queues, reasons, users] = await Promise.all([
    api.GET("/api/v1/inboxes"),
    api.GET("/api/v1/routing/queues"),
    api.GET("/api/v1/routing/away-reasons"),
    api.GET("/api/v1/users"),
  ]);
  for (const u of users.data ?? []) directory.users.set(u.id, u.name);
  for (const i of inboxes.data ?? []) directory.inboxes.set(i.id, i);
  for (const q of queues.data ?? []) directory.queues.set(q.id, q.name);
  directory.awayReasons = reasons.data ?? [];
}
