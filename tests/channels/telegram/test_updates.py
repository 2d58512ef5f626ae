"""The adapter reads the Bot API's documented updates, without a server: what each kind of
message becomes, what is ignored, and what is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from omnidesk.channels.base import (
    AdapterContext,
    ChannelAdapter,
    Inbound,
    MediaRef,
    SignatureInvalid,
    WebhookRequest,
)
from omnidesk.channels.telegram.adapter import TelegramChannel
from omnidesk.kit.errors import ValidationFailed
from tests.channels.telegram.conftest import SECRET, payload
from tests.channels.telegram.fake import TOKEN

CUSTOMER = "987654321"


def adapter() -> TelegramChannel:
    context = AdapterContext(
        inbox_id=7,
        account_id=1,
        config={},
        secrets={"bot_token": TOKEN, "webhook_secret": SECRET},
        public_url="https://desk.example.com",
    )
    return TelegramChannel(context)


def request(body: Any, secret: str | None = SECRET) -> WebhookRequest:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-telegram-bot-api-secret-token"] = secret
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return WebhookRequest("POST", "https://desk.example.com/x", headers, {}, raw)


def parsed(name: str) -> Inbound:
    [inbound] = adapter().parse(request(payload(name)))
    return inbound


def test_the_adapter_is_a_channel_adapter() -> None:
    assert isinstance(adapter(), ChannelAdapter)
    assert adapter().webhook_url == "https://desk.example.com/api/v1/webhooks/telegram/7"


@pytest.mark.parametrize("secret", [None, "", "webhook-secret-0123456789abcdeF", "x" * 200])
def test_a_missing_or_wrong_secret_token_is_refused(secret: str | None) -> None:
    with pytest.raises(SignatureInvalid):
        adapter().verify(request(payload("text"), secret=secret))


def test_the_right_secret_token_passes() -> None:
    adapter().verify(request(payload("text")))


def test_a_text_message() -> None:
    inbound = parsed("text")
    assert inbound.channel_message_id == f"{CUSTOMER}:1365"
    assert (inbound.sender.kind, inbound.sender.value) == ("telegram", CUSTOMER)
    assert inbound.sender.name == "Ada Lovelace"
    assert inbound.body == "Hello, my order #1234 has not arrived"
    assert inbound.thread_id == CUSTOMER
    assert inbound.sent_at == datetime(2025, 1, 5, 9, 0, tzinfo=UTC)
    assert inbound.media == ()


def test_a_photo_is_its_largest_size_with_the_caption() -> None:
    inbound = parsed("photo")
    assert inbound.body == "This is what I got"
    assert inbound.media == (
        MediaRef("AgACAgQAAxkBAAIBY2cPhotoLarge", "image/jpeg", "photo-AQADlarge.jpg"),
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "document",
            MediaRef("BQACAgQAAxkBAAIBZGcDocument", "application/pdf", "invoice-2024-12.pdf"),
        ),
        ("voice", MediaRef("AwACAgQAAxkBAAIBZWcVoice", "audio/ogg", "voice.ogg")),
        ("sticker", MediaRef("CAACAgIAAxkBAAIBZmcSticker", "image/webp", "sticker.webp")),
    ],
)
def test_files_are_referenced_by_file_id(name: str, expected: MediaRef) -> None:
    assert parsed(name).media == (expected,)


def test_a_sticker_reads_as_its_emoji() -> None:
    assert parsed("sticker").body == "👍"


def test_a_location_and_a_venue() -> None:
    location = parsed("location")
    assert location.body == "📍 (52.520008, 13.404954)"
    assert location.meta["location"] == {
        "latitude": 52.520008,
        "longitude": 13.404954,
        "name": "",
        "address": "",
    }
    venue = parsed("venue")
    assert venue.body == (
        "📍 Eiffel Tower, Champ de Mars, 5 Av. Anatole France, 75007 Paris (48.85837, 2.294481)"
    )
    assert venue.meta["location"]["name"] == "Eiffel Tower"


def test_a_shared_contact_becomes_a_vcard() -> None:
    inbound = parsed("contact")
    assert inbound.body == "👤 Charles Babbage +442079460000"
    [card] = inbound.attachments
    assert (card.filename, card.content_type) == ("contact.vcf", "text/vcard")
    text = card.data.decode()
    assert "FN:Charles Babbage\r\n" in text
    assert "N:Babbage;Charles;;;\r\n" in text
    assert "TEL;TYPE=CELL:+442079460000\r\n" in text


def test_a_reply_names_the_message_it_answers() -> None:
    assert parsed("reply").meta["reply_to"] == f"{CUSTOMER}:101"


def test_an_edit_is_a_message_of_its_own_that_names_the_original() -> None:
    inbound = parsed("edited")
    assert inbound.channel_message_id == f"{CUSTOMER}:1365:edit:1736067660"
    assert inbound.body == "(edited) Hello, my order #1235 has not arrived"
    assert inbound.meta["edit_of"] == f"{CUSTOMER}:1365"
    assert inbound.meta["edited_at"] == "2025-01-05T09:01:00+00:00"


def test_a_reaction_and_its_removal() -> None:
    added = parsed("reaction")
    assert added.body == "👍"
    assert added.meta["reaction"] == {"emoji": "👍", "to": f"{CUSTOMER}:101"}
    assert added.channel_message_id == f"{CUSTOMER}:101:reaction:{CUSTOMER}:1736067700"
    removed = parsed("reaction_removed")
    assert removed.body == "(reaction removed)"
    assert removed.meta["reaction"] == {"emoji": "", "to": f"{CUSTOMER}:101"}
    assert removed.channel_message_id != added.channel_message_id


@pytest.mark.parametrize("name", ["group", "callback_query"])
def test_group_chats_and_other_updates_are_not_messages(name: str) -> None:
    assert adapter().parse(request(payload(name))) == []


def test_a_message_from_a_bot_is_not_a_customers() -> None:
    update = payload("text")
    update["message"]["from"]["is_bot"] = True
    assert adapter().parse(request(update)) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        ([1, 2], "body"),
        ({"message": {"text": "hi"}}, "update_id"),
        ({"update_id": 1, "message": {"message_id": 1, "date": 1, "text": "hi"}}, "message.chat"),
    ],
)
def test_a_malformed_update_is_refused_with_its_field(body: Any, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        adapter().parse(request(body))
    assert refused.value.field == field


def test_telegram_sends_no_receipts() -> None:
    assert adapter().status(request(payload("text"))) == []
