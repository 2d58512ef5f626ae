"""Replies through the Send API of a loopback Graph fake: the window, parts and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omnidesk.channels.base import DeliveryFailed, InboundAttachment, Outbound
from omnidesk.channels.messenger.adapter import MessengerChannel
from tests.channels.messenger.graph_fake import TOKEN, GraphError, GraphFake
from tests.channels.messenger.support import PAGE_ID, PSID, SECRETS, context

ANSWERED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def outbound(
    body: str = "We are on it",
    *,
    wrote_ago: timedelta | None = timedelta(hours=1),
    attachments: tuple[InboundAttachment, ...] = (),
) -> Outbound:
    return Outbound(
        message_id=7,
        conversation_id=3,
        idempotency_key="message:7",
        recipient_kind="messenger",
        recipient=PSID,
        body=body,
        attachments=attachments,
        meta={"created_at": ANSWERED.isoformat()},
        customer_last_wrote_at=None if wrote_ago is None else ANSWERED - wrote_ago,
    )


def adapter(graph: GraphFake, **config: object) -> MessengerChannel:
    return MessengerChannel(context({"page_id": PAGE_ID, **config}), graph_url=graph.url)


async def test_a_reply_is_a_response_to_the_customer(graph: GraphFake) -> None:
    delivery = await adapter(graph).send(outbound())
    assert (delivery.channel_message_id, delivery.state) == ("m_sent-1", "sent")
    [sent] = graph.sent
    assert sent.path == f"/v21.0/{PAGE_ID}/messages"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.body == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "We are on it"},
    }


async def test_long_text_leaves_in_parts_within_the_limit(graph: GraphFake) -> None:
    words = " ".join(f"word{i:04d}" for i in range(500))  # 4,499 characters
    delivery = await adapter(graph).send(outbound(words))
    texts = [s.body["message"]["text"] for s in graph.sent]
    assert len(texts) == 3
    assert all(len(t) <= 2000 for t in texts)
    assert " ".join(texts) == words
    assert delivery.channel_message_id == "m_sent-1"


async def test_files_are_uploaded_one_per_message(graph: GraphFake) -> None:
    photo = InboundAttachment("photo.png", "image/png", b"\x89PNG fake")
    manual = InboundAttachment("manual.pdf", "application/pdf", b"%PDF-1.4 fake")
    await adapter(graph).send(outbound("Here you go", attachments=(photo, manual)))
    text, image, file = graph.sent
    assert text.body["message"] == {"text": "Here you go"}
    assert image.body["message"] == {
        "attachment": {"type": "image", "payload": {"is_reusable": False}}
    }
    assert image.body["recipient"] == {"id": PSID}
    assert image.file == ("photo.png", "image/png", b"\x89PNG fake")
    assert file.body["message"]["attachment"]["type"] == "file"
    assert file.file == ("manual.pdf", "application/pdf", b"%PDF-1.4 fake")


@pytest.mark.parametrize("wrote_ago", [timedelta(hours=25), timedelta(days=8), None])
async def test_outside_the_24_hour_window_nothing_is_sent(
    graph: GraphFake, wrote_ago: timedelta | None
) -> None:
    with pytest.raises(DeliveryFailed) as refused:
        await adapter(graph).send(outbound(wrote_ago=wrote_ago))
    assert (refused.value.reason, refused.value.permanent) == ("outside_window", True)
    assert graph.sent == []


async def test_the_human_agent_tag_answers_for_7_days(graph: GraphFake) -> None:
    channel = adapter(graph, human_agent_tag=True)
    await channel.send(outbound(wrote_ago=timedelta(hours=23)))
    await channel.send(outbound(wrote_ago=timedelta(days=3)))
    with pytest.raises(DeliveryFailed) as refused:
        await channel.send(outbound(wrote_ago=timedelta(days=7, minutes=1)))
    assert refused.value.reason == "outside_window"
    assert "7 days" in str(refused.value)
    first, second = graph.sent
    assert first.body["messaging_type"] == "RESPONSE"
    assert "tag" not in first.body
    assert (second.body["messaging_type"], second.body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


@pytest.mark.parametrize(
    ("error", "reason", "permanent"),
    [
        (GraphError(400, 551, "This person isn't available right now.", 1545041), "blocked", True),
        (
            GraphError(400, 10, "This message is sent outside of allowed window.", 2018278),
            "outside_window",
            True,
        ),
        (
            GraphError(400, 100, "(#100) The parameter recipient is invalid"),
            "invalid_recipient",
            True,
        ),
        (GraphError(400, 100, "No matching user found", 2018001), "invalid_recipient", True),
        (
            GraphError(400, 613, "Calls to this api have exceeded the rate limit."),
            "rate_limited",
            False,
        ),
        (GraphError(400, 4, "Application request limit reached"), "rate_limited", False),
        (GraphError(400, 32, "Page request limit reached"), "rate_limited", False),
        (
            GraphError(400, 190, "Error validating access token: Session has expired"),
            "auth_failed",
            True,
        ),
        (GraphError(500, 2, "Service temporarily unavailable"), "provider_unavailable", False),
        (GraphError(503, 1, "An unknown error has occurred."), "provider_unavailable", False),
    ],
)
async def test_graph_refusals_say_why(
    graph: GraphFake, error: GraphError, reason: str, permanent: bool
) -> None:
    graph.answers = [error]
    with pytest.raises(DeliveryFailed) as refused:
        await adapter(graph).send(outbound())
    assert (refused.value.reason, refused.value.permanent) == (reason, permanent)
    assert error.message in str(refused.value)


async def test_a_graph_that_does_not_answer_is_tried_again_later(graph: GraphFake) -> None:
    graph.answers = ["hang"]
    with pytest.raises(DeliveryFailed) as refused:
        await adapter(graph).send(outbound())
    assert (refused.value.reason, refused.value.permanent) == ("provider_unavailable", False)
    assert "in time" in str(refused.value)


async def test_without_a_page_token_nothing_is_tried(graph: GraphFake) -> None:
    secrets = {k: v for k, v in SECRETS.items() if k != "page_access_token"}
    channel = MessengerChannel(context({"page_id": PAGE_ID}, secrets=secrets), graph_url=graph.url)
    with pytest.raises(DeliveryFailed) as refused:
        await channel.send(outbound())
    assert (refused.value.reason, refused.value.permanent) == ("auth_failed", True)
    assert graph.requests == []


async def test_a_wrong_token_is_an_auth_failure(graph: GraphFake) -> None:
    graph.token = "another-token"
    with pytest.raises(DeliveryFailed) as refused:
        await adapter(graph).send(outbound())
    assert (refused.value.reason, refused.value.permanent) == ("auth_failed", True)
