import { describe, expect, it } from "vitest";
import type { EventOut } from "../src/api/client";
import { createOffers, secondsLeft } from "../src/stores/offers";

const T0 = Date.parse("2026-01-01T10:00:00Z");

function offerEvent(type: string, offerId: number, assignee: number | null, expiresInS = 30): EventOut {
  return {
    id: offerId * 10,
    type,
    audience: "conversation",
    conversation_id: 7,
    contact_id: 3,
    assignee_id: assignee,
    team_id: null,
    actor_user_id: null,
    data: {
      offer_id: offerId,
      queue_id: 2,
      channel: "webchat",
      expires_at: new Date(T0 + expiresInS * 1000).toISOString(),
    },
    created_at: new Date(T0).toISOString(),
  };
}

describe("offers", () => {
  it("counts down to the expiry and drops an offer once it expired", () => {
    let now = T0;
    const offers = createOffers(() => 5, () => now);
    expect(offers.apply(offerEvent("offer.made", 1, 5))).toBe(true);
    const [offer] = offers.pending.value;
    expect(offer).toMatchObject({ id: 1, conversationId: 7, channel: "webchat", queueId: 2 });
    expect(offers.secondsLeft(offer!)).toBe(30);
    now = T0 + 12_400;
    offers.tick();
    expect(offers.secondsLeft(offer!)).toBe(18);
    expect(offers.fractionLeft(offer!)).toBeCloseTo(17.6 / 30);
    now = T0 + 30_000;
    offers.tick();
    expect(offers.pending.value).toEqual([]);
  });

  it("takes only this agent's offers, once each, and forgets answered ones", () => {
    const offers = createOffers(() => 5, () => T0);
    expect(offers.apply(offerEvent("offer.made", 1, 6))).toBe(false);
    expect(offers.apply(offerEvent("offer.made", 2, 5))).toBe(true);
    expect(offers.apply(offerEvent("offer.made", 2, 5))).toBe(false); // replayed
    expect(offers.apply(offerEvent("offer.made", 3, 5, 10))).toBe(true);
    // The one expiring first comes first.
    expect(offers.pending.value.map((o) => o.id)).toEqual([3, 2]);
    for (const type of ["offer.timed_out", "offer.withdrawn"]) {
      offers.apply(offerEvent(type, 3, 5));
    }
    offers.apply(offerEvent("offer.accepted", 2, 5));
    expect(offers.pending.value).toEqual([]);
  });

  it("ignores an offer that already expired (a replay after a long sleep)", () => {
    const offers = createOffers(() => 5, () => T0 + 60_000);
    expect(offers.apply(offerEvent("offer.made", 1, 5))).toBe(false);
  });

  it("never counts below zero", () => {
    expect(secondsLeft(T0, T0 + 5000)).toBe(0);
    expect(secondsLeft(T0 + 1, T0)).toBe(1);
  });
});
