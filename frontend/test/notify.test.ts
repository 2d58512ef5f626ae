import { describe, expect, it } from "vitest";
import type { EventOut } from "../src/api/client";
import { createNotifier, NOTICE_RULES, type Notice, type NoticeRule } from "../src/lib/notify";

function event(type: string, patch: Partial<EventOut> = {}): EventOut {
  return {
    id: 1,
    type,
    audience: "conversation",
    conversation_id: 9,
    contact_id: 3,
    assignee_id: 5,
    team_id: null,
    actor_user_id: null,
    data: {},
    created_at: "2026-01-01T10:00:00Z",
    ...patch,
  };
}

function setup(focused: boolean, open: number | null = null, rules?: NoticeRule[]) {
  const shown: Notice[] = [];
  const notify = createNotifier({
    rules,
    context: () => ({ userId: 5, openConversationId: open, contactName: () => "Ada" }),
    focused: () => focused,
    show: (n) => shown.push(n),
  });
  return { shown, notify };
}

describe("desktop notifications", () => {
  it("tells a background tab about offers, work given and customers' messages", () => {
    const { shown, notify } = setup(false);
    notify(event("offer.made", { data: { offer_id: 4, channel: "webchat" } }));
    notify(event("conversation.assigned", { actor_user_id: 2 }));
    notify(event("message.received", { data: { message: { body: "  Where is\nmy parcel? " } } }));
    expect(shown.map((n) => [n.title, n.body, n.conversationId])).toEqual([
      ["A new conversation is offered to you", "Chat · Ada", null],
      ["A conversation is yours now", "Ada", 9],
      ["Ada", "Where is my parcel?", 9],
    ]);
  });

  it("keeps quiet about what is not the agent's", () => {
    const { shown, notify } = setup(false);
    notify(event("offer.made", { assignee_id: 6 }));
    notify(event("conversation.assigned", { actor_user_id: 5 })); // they took it themselves
    notify(event("message.received", { assignee_id: null }));
    notify(event("message.received", { data: { message: { private: true, body: "note" } } }));
    notify(event("conversation.resolved"));
    expect(shown).toEqual([]);
  });

  it("in a focused tab, only what is not on screen and asked for then", () => {
    const { shown, notify } = setup(true, 9);
    notify(event("offer.made", { data: { offer_id: 4 } })); // the pop-up shows it
    notify(event("message.received", { conversation_id: 10 }));
    notify(event("conversation.assigned", { actor_user_id: 2 })); // open already
    notify(event("conversation.assigned", { actor_user_id: 2, conversation_id: 10 }));
    expect(shown.map((n) => n.conversationId)).toEqual([10]);
  });

  it("takes a new kind of notice as one more rule", () => {
    const mention: NoticeRule = {
      type: "mention.created",
      whenFocused: true,
      notice: (e, c) =>
        e.data["user_id"] === c.userId
          ? { title: "You were mentioned", body: "", conversationId: e.conversation_id, tag: "m" }
          : null,
    };
    const { shown, notify } = setup(true, null, [...NOTICE_RULES, mention]);
    notify(event("mention.created", { data: { user_id: 5 } }));
    notify(event("mention.created", { data: { user_id: 6 } }));
    expect(shown.map((n) => n.title)).toEqual(["You were mentioned"]);
  });
});
