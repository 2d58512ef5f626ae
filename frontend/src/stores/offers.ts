// Offers made to the signed-in agent: from `offer.made` events (and GET /routing/offers at
// start), gone when accepted, declined, timed out or withdrawn. The countdown is computed
// from the offer's `expires_at` and a clock, so it stays right after a tab sleeps.
import { computed, reactive } from "vue";
import type { EventOut, Offer } from "../api/client";

export interface OfferView {
  id: number;
  conversationId: number;
  channel: string;
  queueId: number;
  expiresAt: number; // epoch ms
  createdAt: number; // epoch ms
}

export const OFFER_ENDED = new Set([
  "offer.accepted",
  "offer.declined",
  "offer.timed_out",
  "offer.withdrawn",
]);

export function offerFromApi(offer: Offer): OfferView {
  return {
    id: offer.id,
    conversationId: offer.conversation_id,
    channel: offer.channel,
    queueId: offer.queue_id,
    expiresAt: Date.parse(offer.expires_at),
    createdAt: Date.parse(offer.created_at),
  };
}

/** Whole seconds left before `expiresAt` (never negative). */
export function secondsLeft(expiresAt: number, now: number): number {
  return Math.max(0, Math.ceil((expiresAt - now) / 1000));
}

export function createOffers(userId: () => number | null, now: () => number = Date.now) {
  const state = reactive({ byId: new Map<number, OfferView>(), now: now() });

  const pending = computed(() =>
    [...state.byId.values()]
      .filter((o) => o.expiresAt > state.now)
      .sort((a, b) => a.expiresAt - b.expiresAt),
  );

  function add(offer: OfferView): boolean {
    state.now = now();
    if (state.byId.has(offer.id) || offer.expiresAt <= state.now) return false;
    state.byId.set(offer.id, offer);
    return true;
  }

  function remove(offerId: number): void {
    state.byId.delete(offerId);
  }

  /** Applies an event; true when it is a new offer for this agent. */
  function apply(event: EventOut): boolean {
    const offerId = Number(event.data["offer_id"]);
    if (!Number.isFinite(offerId)) return false;
    if (event.type === "offer.made") {
      if (event.assignee_id !== userId() || event.conversation_id === null) return false;
      return add({
        id: offerId,
        conversationId: event.conversation_id,
        channel: String(event.data["channel"] ?? ""),
        queueId: Number(event.data["queue_id"]),
        expiresAt: Date.parse(String(event.data["expires_at"])),
        createdAt: Date.parse(event.created_at),
      });
    }
    if (OFFER_ENDED.has(event.type)) remove(offerId);
    return false;
  }

  function tick(): void {
    state.now = now();
    for (const [id, offer] of state.byId) if (offer.expiresAt <= state.now) state.byId.delete(id);
  }

  return {
    state,
    pending,
    add,
    remove,
    apply,
    tick,
    secondsLeft: (offer: OfferView) => secondsLeft(offer.expiresAt, state.now),
    /** The share of the offer's time still left, 0–1 (for the countdown bar). */
    fractionLeft: (offer: OfferView) => {
      const total = offer.expiresAt - offer.createdAt;
      return total > 0 ? Math.min(1, Math.max(0, (offer.expiresAt - state.now) / total)) : 0;
    },
  };
}

export type Offers = ReturnType<typeof createOffers>;
