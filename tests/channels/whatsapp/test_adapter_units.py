"""The WhatsApp adapter without the app: reading Meta's documented payloads, the 24-hour
window, templates' variables and text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnidesk.channels import meta
from omnidesk.channels.base import (
    AdapterContext,
    DeliveryFailed,
    Outbound,
    SignatureInvalid,
    WebhookRequest,
)
from omnidesk.channels.whatsapp import templates
from omnidesk.channels.whatsapp.adapter import WhatsappChannel, media_type, window_open
from omnidesk.kit.errors import ValidationFailed
from tests.channels.whatsapp.conftest import APP_SECRET, VERIFY_TOKEN
from tests.channels.whatsapp.graph import PHONE_NUMBER_ID, WABA_ID, payload

SENDER = "+16315551181"


def adapter() -> WhatsappChannel:
    return WhatsappChannel(
        AdapterContext(
            inbox_id=1,
            account_id=1,
            config={"phone_number_id": PHONE_NUMBER_ID, "business_account_id": WABA_ID},
            secrets={"access_token": "t", "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN},
            public_url="https://desk.example.com",
        )
    )


def request(body: dict[str, Any] | bytes, **query: str) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return WebhookRequest(
        method="POST",
        url="https://desk.example.com/api/v1/webhooks/whatsapp/1",
        headers={"x-hub-signature-256": meta.sign(APP_SECRET, raw)},
        query=query,
        body=raw,
    )


def parse_one(name: str) -> Any:
    [inbound] = adapter().parse(request(payload(name)))
    return inbound


def test_a_text_message_names_its_sender_and_links_their_phone_number() -> None:
    inbound = parse_one("text.json")
    assert inbound.channel_message_id.startswith("wamid.")
    assert inbound.body == "Hi, my order hasn't arrived yet"
    assert (inbound.sender.kind, inbound.sender.value, inbound.sender.name) == (
        "whatsapp",
        SENDER,
        "Kerry Fisher",
    )
    assert inbound.sender.extra_identities == (("phone", SENDER),)
    assert inbound.sent_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "content_type", "filename", "body"),
    [
        ("image.json", "image/jpeg", "image.jpg", "The box was damaged"),
        ("document.json", "application/pdf", "invoice-1042.pdf", "Invoice"),
        ("audio.json", "audio/ogg", "audio.ogg", ""),
        ("sticker.json", "image/webp", "sticker.webp", ""),
    ],
)
def test_media_stays_at_meta_as_a_reference_with_its_caption(
    name: str, content_type: str, filename: str, body: str
) -> None:
    inbound = parse_one(name)
    [media] = inbound.media
    assert media.ref.startswith("100239453784630")
    assert (media.content_type, media.filename, inbound.body) == (content_type, filename, body)


def test_a_voice_note_says_so() -> None:
    assert parse_one("audio.json").meta["voice"] is True


def test_a_location_has_its_place_and_coordinates() -> None:
    inbound = parse_one("location.json")
    assert inbound.body == (
        "📍 Main office, 1 Hacker Way, Menlo Park, CA 94025 (37.483307, -122.148981)"
    )
    assert inbound.meta["location"] == {
        "latitude": 37.483307,
        "longitude": -122.148981,
        "name": "Main office",
        "address": "1 Hacker Way, Menlo Park, CA 94025",
    }


def test_shared_contacts_become_a_vcard() -> None:
    inbound = parse_one("contacts.json")
    assert inbound.body == "👤 Jo Doe +1 (650) 555-1234 jo.doe@example.com"
    [card] = inbound.attachments
    assert (card.filename, card.content_type) == ("contacts.vcf", "text/vcard")
    text = card.data.decode()
    assert "FN:Jo Doe\r\n" in text
    assert "N:Doe;Jo;;;\r\n" in text
    assert "ORG:Acme\\, Inc.\r\n" in text
    assert "TEL:+1 (650) 555-1234\r\n" in text


@pytest.mark.parametrize(
    ("name", "body", "choice"),
    [
        ("interactive_button_reply.json", "Track my order", "track-order"),
        ("interactive_list_reply.json", "Returns", "returns"),
        ("button.json", "Yes, reschedule", "Yes-Button-Payload"),
    ],
)
def test_buttons_and_list_choices_are_the_customers_words(
    name: str, body: str, choice: str
) -> None:
    inbound = parse_one(name)
    assert inbound.body == body
    assert inbound.meta["choice"]["id"] == choice
    assert inbound.meta["reply_to"] == "wamid.OUT1"


def test_a_reply_names_the_message_it_answers() -> None:
    inbound = parse_one("reply.json")
    assert (inbound.body, inbound.meta["reply_to"]) == ("Yes, that one", "wamid.OUT1")


def test_a_reaction_is_its_emoji_on_a_message_with_an_id_of_its_own() -> None:
    inbound = parse_one("reaction.json")
    assert inbound.body == "👍"
    assert inbound.meta["reaction"] == {"emoji": "👍", "to": "wamid.OUT1"}
    assert inbound.channel_message_id.endswith(":reaction")


def test_a_reaction_taken_back_says_so() -> None:
    body = payload("reaction.json")
    del body["entry"][0]["changes"][0]["value"]["messages"][0]["reaction"]["emoji"]
    [inbound] = adapter().parse(request(body))
    assert inbound.body == "(reaction removed)"
    assert inbound.meta["reaction"] == {"emoji": "", "to": "wamid.OUT1"}


def test_an_unsupported_message_is_kept_with_meta_s_words() -> None:
    inbound = parse_one("unsupported.json")
    assert inbound.body == "[WhatsApp: Message type is currently not supported.]"


def test_statuses_become_delivery_updates_with_the_failure_reason() -> None:
    channel = adapter()
    for state in ("sent", "delivered", "read"):
        [update] = channel.status(request(payload(f"status_{state}.json")))
        assert (update.channel_message_id, update.state, update.reason) == (
            "wamid.OUT1",
            state,
            None,
        )
    [failed] = channel.status(request(payload("status_failed.json")))
    assert (failed.state, failed.reason) == ("failed", "invalid_recipient")
    assert failed.error == "Message Undeliverable. (code 131026)"
    assert channel.parse(request(payload("status_failed.json"))) == []


def test_another_phone_number_of_the_same_app_is_not_this_inbox_s() -> None:
    body = payload("text.json")
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    assert adapter().parse(request(body)) == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account", "entry": {}},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]},
    ],
)
def test_malformed_payloads_are_refused(body: dict[str, Any] | bytes) -> None:
    with pytest.raises(ValidationFailed):
        adapter().parse(request(body))


def test_a_message_without_an_id_is_refused() -> None:
    body = payload("text.json")
    del body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    with pytest.raises(ValidationFailed, match="needs an id"):
        adapter().parse(request(body))


def test_signature_and_handshake() -> None:
    channel = adapter()
    channel.verify(request(payload("text.json")))
    forged = WebhookRequest("POST", "u", {"x-hub-signature-256": "sha256=00"}, {}, b"{}")
    with pytest.raises(SignatureInvalid):
        channel.verify(forged)
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"}
    reply = channel.handshake(WebhookRequest("GET", "u", {}, query, b""))
    assert (reply.status, reply.body) == (200, b"42")


def _outbound(last: datetime | None, written: datetime, **meta_: Any) -> Outbound:
    return Outbound(
        message_id=1,
        conversation_id=1,
        idempotency_key="message:1",
        recipient_kind="whatsapp",
        recipient=SENDER,
        body="Hello",
        meta={"created_at": written.isoformat(), **meta_},
        customer_last_wrote_at=last,
    )


def test_the_window_is_24_hours_from_the_customer_s_last_message() -> None:
    wrote = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert window_open(_outbound(wrote, wrote + timedelta(hours=23, minutes=59)))
    assert not window_open(_outbound(wrote, wrote + timedelta(hours=24)))
    assert not window_open(_outbound(None, wrote))


async def test_free_text_outside_the_window_is_refused_before_any_call() -> None:
    wrote = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with pytest.raises(DeliveryFailed) as refused:
        # No Graph API is reachable at the default URL here: a call would fail otherwise.
        await adapter().send(_outbound(wrote, wrote + timedelta(days=2)))
    assert (refused.value.reason, refused.value.permanent) == ("outside_window", True)


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("image/jpeg", "image"),
        ("image/webp", "sticker"),
        ("audio/ogg; codecs=opus", "audio"),
        ("video/mp4", "video"),
        ("application/pdf", "document"),
        ("image/gif", "document"),
    ],
)
def test_files_go_out_as_the_cloud_api_s_media_types(content_type: str, kind: str) -> None:
    assert media_type(content_type) == kind


ORDER = payload("message_templates.json")["data"][0]["components"]


def test_a_template_lists_its_variables_per_component() -> None:
    assert templates.variables(ORDER) == ["header.1", "body.1", "body.2", "body.3"]
    assert templates.unsupported(ORDER) is None
    sale = payload("message_templates.json")["data"][3]["components"]
    assert templates.unsupported(sale) == "its header is a file (image, video or document)"


def test_a_template_renders_its_text_and_its_send_parameters() -> None:
    values = {"header.1": "#1042", "body.1": "Kerry", "body.2": "#1042", "body.3": "Friday"}
    rendered = templates.render(ORDER, values)
    assert rendered.text == (
        "Order #1042\n\nHi Kerry, your order #1042 is on its way and should arrive on Friday."
        "\n\nAcme Support\n\n[Track my order] [Talk to someone]"
    )
    assert rendered.components == [
        {"type": "header", "parameters": [{"type": "text", "text": "#1042"}]},
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Kerry"},
                {"type": "text", "text": "#1042"},
                {"type": "text", "text": "Friday"},
            ],
        },
    ]


def test_a_missing_variable_is_named() -> None:
    with pytest.raises(ValidationFailed) as refused:
        templates.render(ORDER, {"header.1": "#1", "body.1": "Kerry", "body.2": " "})
    assert refused.value.field == "variables.body.2"
    assert "{{2}} of the body" in refused.value.message


def test_named_variables_are_sent_by_name() -> None:
    components = [{"type": "BODY", "text": "Hi {{first_name}}, code {{code}}"}]
    rendered = templates.render(components, {"body.first_name": "Jo", "body.code": "77"})
    assert rendered.text == "Hi Jo, code 77"
    assert rendered.components[0]["parameters"] == [
        {"type": "text", "parameter_name": "first_name", "text": "Jo"},
        {"type": "text", "parameter_name": "code", "text": "77"},
    ]
