"""Instagram messaging: the same Messenger Platform code, Instagram's payloads and limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omnidesk.channels.base import DeliveryUpdate, Outbound
from omnidesk.channels.instagram.adapter import InstagramChannel
from omnidesk.kit.errors import ValidationFailed
from tests.channels.messenger.graph_fake import GraphFake
from tests.channels.messenger.support import (
    IG_ID,
    IGSID,
    PAGE_ID,
    Environment,
    context,
    payload,
    signed,
)

CONFIG = {"instagram_account_id": IG_ID, "page_id": PAGE_ID}


def adapter(graph_url: str = "http://127.0.0.1:9/v21.0") -> InstagramChannel:
    return InstagramChannel(context(CONFIG), graph_url=graph_url)


def test_a_direct_message_comes_from_an_instagram_identity() -> None:
    [inbound] = adapter().parse(signed(payload("instagram", "text")))
    assert (inbound.sender.kind, inbound.sender.value) == ("instagram", IGSID)
    assert inbound.body == "Is this still available?"
    assert inbound.channel_message_id.startswith("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE")


async def test_an_image_is_downloaded_from_the_cdn(graph: GraphFake) -> None:
    graph.files["ig_messaging_cdn/"] = ("image/jpeg", b"\xff\xd8 ig photo")
    channel = adapter(graph.url)
    [inbound] = channel.parse(signed(payload("instagram", "image", cdn=graph.cdn(""))))
    [ref] = inbound.media
    got = await channel.fetch_media(ref, max_bytes=1 << 20)
    assert (got.filename, got.content_type, got.data) == (
        "image-1.jpg",
        "image/jpeg",
        b"\xff\xd8 ig photo",
    )


def test_story_mentions_and_replies_are_kept_as_links_not_copies() -> None:
    [mention] = adapter().parse(signed(payload("instagram", "story_mention")))
    [reply] = adapter().parse(signed(payload("instagram", "story_reply")))
    assert mention.media == ()  # Meta's policy: story media is not to be stored
    assert mention.meta["story_mention"]["url"].startswith("https://lookaside.fbsbx.com/")
    assert mention.body == "(mentioned you in their story)"
    assert reply.body == "Love this look!"
    assert reply.meta["story_reply"]["id"] == "17988888888888888"
    assert "reply_to" not in reply.meta


def test_a_shared_reel_is_a_link() -> None:
    [inbound] = adapter().parse(signed(payload("instagram", "share")))
    assert inbound.media == ()
    [share] = inbound.meta["shares"]
    assert (share["type"], share["title"]) == ("ig_reel", "Our new collection")
    assert inbound.body.startswith("Our new collection https://lookaside.fbsbx.com/")


def test_an_ice_breaker_reaction_seen_echo_and_unsent() -> None:
    channel = adapter()
    [icebreaker] = channel.parse(signed(payload("instagram", "icebreaker")))
    assert (icebreaker.body, icebreaker.meta["postback"]["payload"]) == (
        "Where is my order?",
        "ORDER_STATUS",
    )
    [reaction] = channel.parse(signed(payload("instagram", "reaction")))
    assert reaction.meta["reaction"]["to"] == "m_sent-1"
    assert reaction.body == "❤"
    assert channel.status(signed(payload("instagram", "seen"))) == [
        DeliveryUpdate("m_sent-1", "read")
    ]
    assert channel.parse(signed(payload("instagram", "echo"))) == []
    assert channel.parse(signed(payload("instagram", "unsent"))) == []


def test_an_unsupported_message_still_tells_the_agent_the_customer_wrote() -> None:
    [inbound] = adapter().parse(signed(payload("instagram", "unsupported")))
    assert inbound.meta == {"unsupported": True}
    assert "see it in the app" in inbound.body


def test_a_page_webhook_is_not_an_instagram_one() -> None:
    with pytest.raises(ValidationFailed) as refused:
        adapter().parse(signed(payload("messenger", "text")))
    assert refused.value.field == "object"


async def test_replies_go_through_the_linked_page_within_1000_bytes(graph: GraphFake) -> None:
    answered = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    text = "é" * 700  # 1,400 bytes of UTF-8
    delivery = await adapter(graph.url).send(
        Outbound(
            message_id=1,
            conversation_id=1,
            idempotency_key="message:1",
            recipient_kind="instagram",
            recipient=IGSID,
            body=text,
            meta={"created_at": answered.isoformat()},
            customer_last_wrote_at=answered - timedelta(minutes=5),
        )
    )
    assert delivery.channel_message_id == "m_sent-1"
    parts = [s.body["message"]["text"] for s in graph.sent]
    assert [len(p.encode()) for p in parts] == [1000, 400]
    assert "".join(parts) == text
    assert {s.path for s in graph.sent} == {f"/v21.0/{PAGE_ID}/messages"}
    assert {s.body["recipient"]["id"] for s in graph.sent} == {IGSID}
    assert not InstagramChannel.capabilities.attachments


async def test_the_check_reads_the_instagram_account(graph: GraphFake) -> None:
    results = await adapter(graph.url).check(Environment())
    assert [(r.name, r.ok, r.detail) for r in results][2:] == [
        ("Instagram account", True, f"@acme ({IG_ID})"),
        ("one inbox per account", True, "no other inbox uses this id"),
    ]
