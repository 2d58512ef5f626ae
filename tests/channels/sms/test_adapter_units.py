"""The SMS adapter on Twilio's recorded webhooks: signature, parsing, status, keywords."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import pytest

from omnidesk.channels.base import DeliveryUpdate, MediaRef, SignatureInvalid
from omnidesk.channels.sms import keywords
from omnidesk.channels.sms.schemas import SmsConfig, SmsSecrets
from omnidesk.kit.errors import ValidationFailed
from tests.channels.sms.conftest import adapter, form_of, signed, twilio_signature, webhook_url
from tests.channels.sms.fake_twilio import ACCOUNT_SID, CUSTOMER, FakeTwilio


def test_a_request_signed_with_the_auth_token_is_accepted(twilio: FakeTwilio) -> None:
    adapter(twilio).verify(signed(form_of("inbound_sms.txt")))


def test_a_forged_or_missing_signature_is_refused(twilio: FakeTwilio) -> None:
    sms = adapter(twilio)
    form = form_of("inbound_sms.txt")
    forged = twilio_signature(webhook_url(1), form, token="f" * 32)
    with pytest.raises(SignatureInvalid, match="does not match"):
        sms.verify(signed(form, signature=forged))
    request = signed(form)
    with pytest.raises(SignatureInvalid, match="missing"):
        sms.verify(replace(request, headers={"content-type": "x"}))
    # A valid signature over other parameters, or for another inbox's URL, is no signature.
    tampered = _with(form, From="+14155550199")
    with pytest.raises(SignatureInvalid):
        sms.verify(replace(request, body=urlencode(tampered).encode()))
    with pytest.raises(SignatureInvalid):
        adapter(twilio, inbox_id=2).verify(replace(request, url=webhook_url(2)))


def test_an_inbox_without_credentials_accepts_nothing(twilio: FakeTwilio) -> None:
    sms = adapter(twilio)
    sms.secrets = None
    with pytest.raises(SignatureInvalid):
        sms.verify(signed(form_of("inbound_sms.txt")))


def test_an_inbound_text(twilio: FakeTwilio) -> None:
    [inbound] = adapter(twilio).parse(signed(form_of("inbound_sms.txt")))
    assert inbound.channel_message_id == "SM1f0e8ae6ade43cb3c0ce4525424e404f"
    assert (inbound.sender.kind, inbound.sender.value) == ("phone", CUSTOMER)
    assert inbound.body == "Hi there, my order #1234 has not arrived"
    assert inbound.media == ()
    assert inbound.consent is None
    assert inbound.meta == {"to": "+14155550100", "segments": 1}


def test_an_mms_has_its_media_as_references(twilio: FakeTwilio) -> None:
    [inbound] = adapter(twilio).parse(signed(form_of("inbound_mms.txt")))
    assert inbound.body == "Here is the damaged box"
    [media] = inbound.media
    assert media == MediaRef(
        "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/"
        "MM8c0e6a7b4a3b4f1e9d2c5b6a7f8e9d0c/Media/ME4b1f2e3d4c5b6a7980a1b2c3d4e5f6a7",
        "image/jpeg",
        "ME4b1f2e3d4c5b6a7980a1b2c3d4e5f6a7.jpg",
    )


def test_a_sender_in_national_format_is_stored_in_e164(twilio: FakeTwilio) -> None:
    form = _with(form_of("inbound_sms.txt"), From="(415) 555-0123")
    [inbound] = adapter(twilio).parse(signed(form))
    assert inbound.sender.value == CUSTOMER


def _without(form: list[tuple[str, str]], *names: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in form if k not in names]


def _with(form: list[tuple[str, str]], **values: str) -> list[tuple[str, str]]:
    return [(k, values.get(k, v)) for k, v in form]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (_without(form_of("inbound_sms.txt"), "From"), "From"),
        (_without(form_of("inbound_sms.txt"), "MessageSid", "SmsMessageSid"), "MessageSid"),
        (_with(form_of("inbound_sms.txt"), NumMedia="many"), "NumMedia"),
        (_without(form_of("inbound_mms.txt"), "MediaUrl0"), "MediaUrl0"),
    ],
)
def test_a_malformed_webhook_is_a_validation_error(
    twilio: FakeTwilio, form: list[tuple[str, str]], field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        adapter(twilio).parse(signed(form))
    assert caught.value.field == field


def test_a_sender_that_is_no_phone_number_is_refused(twilio: FakeTwilio) -> None:
    form = _with(form_of("inbound_sms.txt"), From="not-a-number")
    with pytest.raises(ValidationFailed, match="not a phone number"):
        adapter(twilio).parse(signed(form))


def test_stop_opts_out_and_start_opts_back_in(twilio: FakeTwilio) -> None:
    sms = adapter(twilio)
    [stop] = sms.parse(signed(form_of("inbound_stop.txt")))
    assert stop.consent == "opt_out"
    assert stop.meta["sms_keyword"] == "opt_out"
    assert stop.body == "STOP"  # the agent sees it too
    start = _with(form_of("inbound_stop.txt"), Body="start")
    [inbound] = sms.parse(signed(start))
    assert inbound.consent == "opt_in"
    helps = _with(form_of("inbound_stop.txt"), Body="Help")
    [inbound] = sms.parse(signed(helps))
    assert inbound.consent is None
    assert inbound.meta["sms_keyword"] == "help"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("STOP", "opt_out"),
        (" stopall ", "opt_out"),
        ("Unsubscribe.", "opt_out"),
        ("cancel", "opt_out"),
        ("END", "opt_out"),
        ("quit!", "opt_out"),
        ("START", "opt_in"),
        ("yes", "opt_in"),
        ("Unstop", "opt_in"),
        ("HELP", "help"),
        ("info", "help"),
        ("please stop texting me", None),
        ("stop it", None),
        ("", None),
    ],
)
def test_keywords_count_only_alone(body: str, expected: str | None) -> None:
    assert keywords.classify(body) == expected


def test_advanced_opt_out_says_which_keyword_it_was() -> None:
    # A Messaging Service's own keywords ("ARRET") arrive with Twilio's verdict.
    assert keywords.classify("ARRET", "STOP") == "opt_out"
    assert keywords.classify("STOP", "START") == "opt_in"


def test_status_callbacks_become_delivery_updates(twilio: FakeTwilio) -> None:
    sms = adapter(twilio)
    delivered = signed(form_of("status_delivered.txt"))
    assert sms.parse(delivered) == []
    assert sms.status(delivered) == [
        DeliveryUpdate("SM00000000000000000000000000000000", "delivered")
    ]
    undelivered = signed(form_of("status_undelivered.txt"))
    assert sms.status(undelivered) == [
        DeliveryUpdate(
            "SM00000000000000000000000000000000",
            "failed",
            error="Twilio error 30003",
            reason="invalid_recipient",
        )
    ]
    sending = _with(form_of("status_delivered.txt"), MessageStatus="sending")
    assert sms.status(signed(sending)) == []
    assert sms.status(signed(form_of("inbound_sms.txt"))) == []


def test_the_webhook_is_answered_with_empty_twiml(twilio: FakeTwilio) -> None:
    reply = adapter(twilio).acknowledge(signed(form_of("inbound_sms.txt")))
    assert reply.status == 200
    assert reply.content_type == "text/xml"
    assert reply.body.endswith(b"<Response />")


def test_the_configuration_needs_a_sender_in_e164() -> None:
    assert SmsConfig(phone_number="+1 415-555-0100").phone_number == "+14155550100"
    with pytest.raises(ValueError, match=r"E\.164"):
        SmsConfig(phone_number="4155550100")
    with pytest.raises(ValueError, match="phone_number, the messaging_service_sid"):
        SmsConfig()
    service = "MG" + "0" * 32
    assert SmsConfig(messaging_service_sid=service).messaging_service_sid == service


def test_rest_calls_use_the_api_key_when_there_is_one() -> None:
    secrets = SmsSecrets(account_sid=ACCOUNT_SID, auth_token="t" * 32)
    assert secrets.rest_auth() == (ACCOUNT_SID, "t" * 32)
    keyed = SmsSecrets(
        account_sid=ACCOUNT_SID,
        auth_token="t" * 32,
        api_key_sid="SK" + "1" * 32,
        api_key_secret="s" * 32,
    )
    assert keyed.rest_auth() == ("SK" + "1" * 32, "s" * 32)
    with pytest.raises(ValueError, match="both"):
        SmsSecrets(account_sid=ACCOUNT_SID, auth_token="t" * 32, api_key_sid="SK" + "1" * 32)
