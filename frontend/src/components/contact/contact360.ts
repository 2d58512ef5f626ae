// Everything the desk knows about one contact, for the sidebar: the contact (identities,
// company, attributes), its conversations on every channel (and their ratings), and what it
// did lately (page views, rage clicks). Loaded when a contact is shown, fetched again when an
// event concerns it (coalesced: one request set at a time, answers never out of order).
import { reactive } from "vue";
import type { Contact, Conversation, EventOut, Schemas } from "../../api/client";

export type Definition = Schemas["AttributeDefinitionOut"];

export interface Contact360Source {
  contact: (id: number) => Promise<Contact>;
  conversations: (contactId: number) => Promise<Conversation[]>;
  events: (contactId: number) => Promise<EventOut[]>;
  definitions: () => Promise<Definition[]>;
}

/** What the contact did on the customer's site, newest first. */
export const ACTIVITY_TYPES: Record<string, string> = {
  "contact.page_viewed": "Viewed",
  "contact.rage_clicked": "Rage clicks on",
};

// Marks every font has (no emoji: not every system draws them).
const IDENTITY_KINDS: Record<string, { label: string; icon: string }> = {
  email: { label: "Email", icon: "@" },
  phone: { label: "Phone", icon: "☎" },
  whatsapp: { label: "WhatsApp", icon: "WA" },
  messenger: { label: "Messenger", icon: "FB" },
  instagram: { label: "Instagram", icon: "IG" },
  telegram: { label: "Telegram", icon: "TG" },
  webchat: { label: "Web chat visitor", icon: "◍" },
  twitter: { label: "X / Twitter", icon: "X" },
  external: { label: "External id", icon: "#" },
};

export function identityKind(kind: string): { label: string; icon: string } {
  return IDENTITY_KINDS[kind] ?? { label: kind, icon: "•" };
}

/** The contact's custom attributes with their defined labels (undefined ones by key). */
export function attributeRows(
  attributes: Record<string, unknown>,
  definitions: readonly Definition[],
): { key: string; label: string; value: string }[] {
  const labels = new Map(
    definitions.filter((d) => d.applies_to === "contact").map((d) => [d.key, d.label]),
  );
  return Object.entries(attributes)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([key, v]) => ({
      key,
      label: labels.get(key) ?? key,
      value: Array.isArray(v) ? v.join(", ") : typeof v === "boolean" ? (v ? "Yes" : "No") : String(v),
    }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

/** Rated conversations, the latest rating first. */
export function csatHistory(conversations: readonly Conversation[]): Conversation[] {
  return conversations
    .filter((c) => c.csat_rating !== null && c.csat_rating !== undefined)
    .sort((a, b) => Date.parse(b.csat_at ?? b.updated_at) - Date.parse(a.csat_at ?? a.updated_at));
}

export interface Activity {
  id: number;
  what: string;
  url: string;
  title: string;
  at: string;
  kind: "page_view" | "rage_click";
}

export function recentActivity(events: readonly EventOut[], limit = 15): Activity[] {
  return events
    .filter((e) => e.type in ACTIVITY_TYPES)
    .slice(0, limit)
    .map((e) => ({
      id: e.id,
      what: ACTIVITY_TYPES[e.type] ?? e.type,
      url: typeof e.data["url"] === "string" ? e.data["url"] : "",
      title: typeof e.data["title"] === "string" ? e.data["title"] : "",
      at: e.created_at,
      kind: e.type === "contact.rage_clicked" ? "rage_click" : "page_view",
    }));
}

/** Events that change nothing the sidebar shows (a message, an offer, typing, presence). */
const UNRELATED = /^(message|offer|agent)\.|typing|viewers/;

export function createContact360(source: Contact360Source) {
  const state = reactive({
    contactId: null as number | null,
    contact: null as Contact | null,
    conversations: [] as Conversation[],
    events: [] as EventOut[],
    definitions: [] as Definition[],
    loading: false,
    error: "",
  });
  let definitionsLoaded = false;
  let running: Promise<void> | null = null;
  let again = false;

  async function fetchOnce(): Promise<void> {
    const id = state.contactId;
    if (id === null) return;
    state.loading = true;
    try {
      const [contact, conversations, events] = await Promise.all([
        source.contact(id),
        source.conversations(id),
        source.events(id),
        definitionsLoaded
          ? Promise.resolve()
          : source.definitions().then((d) => {
              state.definitions = d;
              definitionsLoaded = true;
            }),
      ]);
      if (state.contactId !== id) return; // another contact meanwhile
      Object.assign(state, { contact, conversations, events, error: "" });
    } catch (err) {
      if (state.contactId === id) state.error = (err as Error).message;
    } finally {
      if (state.contactId === id) state.loading = false;
    }
  }

  /** Fetch again (one run at a time; calls meanwhile ask for one more run). */
  function refresh(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await fetchOnce();
      } while (again);
      running = null;
    })();
    return running;
  }

  /** Show this contact (null: none); nothing is fetched again for the same one. */
  function show(contactId: number | null): Promise<void> {
    if (contactId === state.contactId) return running ?? Promise.resolve();
    Object.assign(state, { contactId, contact: null, conversations: [], events: [], error: "" });
    return contactId === null ? Promise.resolve() : refresh();
  }

  /** An event of the desk's stream: fetched again when it concerns the contact shown. */
  function handle(event: EventOut): void {
    if (state.contactId === null || UNRELATED.test(event.type)) return;
    const survivor = event.data["survivor_id"];
    if (event.type === "contact.merged" && event.data["merged_id"] === state.contactId && typeof survivor === "number") {
      void show(survivor); // merged into another contact: show that one
      return;
    }
    const mine =
      event.contact_id === state.contactId ||
      event.data["contact_id"] === state.contactId ||
      (event.conversation_id !== null && state.conversations.some((c) => c.id === event.conversation_id));
    if (mine) void refresh();
  }

  return { state, show, refresh, handle };
}

export type Contact360 = ReturnType<typeof createContact360>;
