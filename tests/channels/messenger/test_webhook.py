"""Reading Messenger webhooks: the documented payloads become messages and receipts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omnidesk.channels.base import (
    DeliveryUpdate,
    ReadWatermark,
    SignatureInvalid,
    WebhookRequest,
)
from omnidesk.channels.messenger.adapter import MessengerChannel
from omnidesk.kit.errors import ValidationFailed
from tests.channels.messenger.support import (
    APP_SECRET,
    PAGE_ID,
    PSID,
    VERIFY_TOKEN,
    context,
    payload,
    signed,
)


def _adapter() -> MessengerChannel:
    return MessengerChannel(context({"page_id": PAGE_ID}))


def test_a_text_message() -> None:
    [inbound] = _adapter().parse(signed(payload("messenger", "text")))
    assert inbound.channel_message_id.startswith("m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM")
    assert (inbound.sender.kind, inbound.sender.value) == ("messenger", PSID)
    assert inbound.body == "hello, world!"
    assert inbound.sent_at == datetime(2016, 3, 23, 0, 25, 52, 478000, tzinfo=UTC)
    assert inbound.media == ()
    assert inbound.meta == {}


def test_a_quick_reply_keeps_its_payload() -> None:
    [inbound] = _adapter().parse(signed(payload("messenger", "quick_reply")))
    assert inbound.body == "Red"
    assert inbound.meta == {"quick_reply": "PICK_RED"}


def test_a_reply_names_the_message_it_answers() -> None:
    [inbound] = _adapter().parse(signed(payload("messenger", "reply")))
    assert inbound.meta["reply_to"] == "m_sent-1"
    assert inbound.thread_refs == ("m_sent-1",)


def test_attachments_are_media_to_download() -> None:
    [inbound] = _adapter().parse(signed(payload("messenger", "image")))
    assert inbound.body == ""
    assert [(m.ref.split("?")[0], m.filename) for m in inbound.media] == [
        ("https://scontent.xx.fbcdn.net/v/t1.15752-9/photo.jpg", "photo.jpg"),
        ("https://scontent.xx.fbcdn.net/v/t1.15752-9/invoice.pdf", "invoice.pdf"),
    ]


def test_a_location() -> None:
    [inbound] = _adapter().parse(signed(payload("messenger", "location")))
    assert inbound.body == "📍 Brandenburger Tor (52.516275, 13.377704)"
    assert inbound.meta["location"] == {
        "latitude": 52.516275,
        "longitude": 13.377704,
        "name": "Brandenburger Tor",
        "address": "",
    }
    assert inbound.media == ()


def test_a_postback_is_the_button_the_customer_tapped() -> None:
    [inbound] = _adapter().parse(signed(payload("messenger", "postback")))
    assert inbound.channel_message_id == "m_postback-AG5Hz2Uq7tuwNEhXfYYKj8mJEM"
    assert inbound.body == "Talk to a person"
    assert inbound.meta == {"postback": {"title": "Talk to a person", "payload": "HUMAN_HANDOFF"}}


def test_reactions_and_their_removal() -> None:
    [react] = _adapter().parse(signed(payload("messenger", "reaction")))
    [unreact] = _adapter().parse(signed(payload("messenger", "unreaction")))
    assert react.body == "❤️"
    assert react.meta["reaction"] == {
        "emoji": "❤️",
        "to": "m_sent-1",
        "action": "react",
        "name": "love",
    }
    assert react.channel_message_id == "m_sent-1:reaction:1458668856463"
    assert unreact.body == "(reaction removed)"
    assert unreact.meta["reaction"]["action"] == "unreact"
    assert unreact.channel_message_id != react.channel_message_id


def test_echoes_of_the_pages_own_messages_are_not_customer_messages() -> None:
    adapter = _adapter()
    request = signed(payload("messenger", "echo"))
    assert adapter.parse(request) == []
    assert adapter.status(request) == []


def test_delivery_and_read_receipts() -> None:
    adapter = _adapter()
    assert adapter.status(signed(payload("messenger", "delivery"))) == [
        DeliveryUpdate("m_sent-1", "delivered")
    ]
    assert adapter.parse(signed(payload("messenger", "delivery"))) == []
    assert adapter.watermarks(signed(payload("messenger", "read"))) == [
        ReadWatermark("messenger", PSID, datetime(2016, 3, 22, 17, 47, 36, 253000, tzinfo=UTC))
    ]


def test_entries_of_another_page_are_not_this_inboxs() -> None:
    assert _adapter().parse(signed(payload("messenger", "other_page"))) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"[]", "body"),
        (b'{"object":"instagram","entry":[]}', "object"),
        (b'{"object":"page"}', "entry"),
        (
            b'{"object":"page","entry":[{"id":"104912345678901","messaging":[{"sender":{}}]}]}',
            "sender",
        ),
        (
            b'{"object":"page","entry":[{"id":"104912345678901","messaging":[{"sender":{"id":"1"},'
            b'"timestamp":1,"message":{"text":"no mid"}}]}]}',
            "message.mid",
        ),
        (
            b'{"object":"page","entry":[{"id":"104912345678901","messaging":[{"sender":{"id":"1"},'
            b'"message":{"mid":"m_1"}}]}]}',
            "timestamp",
        ),
    ],
)
def test_malformed_bodies_are_refused(body: bytes, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _adapter().parse(signed(body))
    assert refused.value.field == field


def test_the_signature_is_checked_over_the_raw_body() -> None:
    adapter = _adapter()
    body = payload("messenger", "text")
    adapter.verify(signed(body))
    with pytest.raises(SignatureInvalid):
        adapter.verify(signed(body, secret="another-app-secret-0123"))
    tampered = signed(body)
    with pytest.raises(SignatureInvalid):
        adapter.verify(
            WebhookRequest(
                "POST", tampered.url, tampered.headers, {}, body.replace(b"hello", b"HELLO")
            )
        )
    with pytest.raises(SignatureInvalid):
        adapter.verify(WebhookRequest("POST", tampered.url, {}, {}, body))
    # Logged adapters and tracebacks never show the secrets.
    assert APP_SECRET not in repr(adapter.secrets)
    assert VERIFY_TOKEN not in repr(adapter.secrets)


def test_the_subscription_handshake_echoes_the_challenge() -> None:
    adapter = _adapter()
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    reply = adapter.handshake(WebhookRequest("GET", "https://x/", {}, query, b""))
    assert (reply.status, reply.body, reply.content_type) == (200, b"1158201444", "text/plain")
    with pytest.raises(SignatureInvalid):
        adapter.handshake(
            WebhookRequest("GET", "https://x/", {}, {**query, "hub.verify_token": "guess"}, b"")
        )
