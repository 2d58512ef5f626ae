"""MMS media downloaded from Twilio (with its redirect), and the inbox's connection check."""

from __future__ import annotations

from typing import Any

import pytest

from omnidesk.channels.base import MediaRef, MediaUnavailable
from omnidesk.channels.sms.adapter import SmsChannel
from tests.channels.sms.conftest import adapter, form_of, signed, webhook_url
from tests.channels.sms.fake_twilio import ACCOUNT_SID, NUMBER, FakeTwilio, payload

JPEG = b"\xff\xd8\xff\xe0" + b"box" * 1000
ME = "ME4b1f2e3d4c5b6a7980a1b2c3d4e5f6a7"


class _Environment:
    async def inboxes_with(self, key: str, value: str) -> list[int]:
        return []


def _mms(twilio: FakeTwilio) -> MediaRef:
    [inbound] = adapter(twilio).parse(signed(form_of("inbound_mms.txt", twilio)))
    [media] = inbound.media
    return media


async def test_media_follow_twilio_redirect_without_our_credentials(twilio: FakeTwilio) -> None:
    twilio.media[ME] = (JPEG, "image/jpeg")
    attachment = await adapter(twilio).fetch_media(_mms(twilio), max_bytes=5 * 1024 * 1024)
    assert (attachment.filename, attachment.content_type, attachment.data) == (
        f"{ME}.jpg",
        "image/jpeg",
        JPEG,
    )
    api, storage = twilio.requests
    assert api.headers["authorization"].startswith("Basic ")
    assert storage.path == f"/media-storage/{ME}"
    assert storage.headers["host"].startswith("localhost:")
    assert "authorization" not in storage.headers


async def test_media_larger_than_the_limit_are_refused(twilio: FakeTwilio) -> None:
    twilio.media[ME] = (JPEG, "image/jpeg")
    with pytest.raises(MediaUnavailable, match="too large"):
        await adapter(twilio).fetch_media(_mms(twilio), max_bytes=len(JPEG) - 1)


async def test_gone_media_are_unavailable(twilio: FakeTwilio) -> None:
    with pytest.raises(MediaUnavailable, match="404"):
        await adapter(twilio).fetch_media(_mms(twilio), max_bytes=10_000)


async def test_our_credentials_never_go_to_another_host(twilio: FakeTwilio) -> None:
    elsewhere = MediaRef("http://localhost:9/2010-04-01/Accounts/AC/Messages/MM/Media/ME")
    with pytest.raises(MediaUnavailable, match="not a Twilio media URL"):
        await adapter(twilio).fetch_media(elsewhere, max_bytes=10_000)
    assert twilio.requests == []


def _number(sms_url: str) -> dict[str, Any]:
    number: dict[str, Any] = payload("incoming_phone_number.json")
    number["sms_url"] = sms_url
    return number


async def test_the_check_opens_the_account_and_finds_the_number(twilio: FakeTwilio) -> None:
    twilio.numbers = [_number(webhook_url(1))]
    results = await adapter(twilio).check(_Environment())
    assert [(r.name, r.ok) for r in results] == [("credentials", True), ("phone number", True)]
    assert results[0].detail == "account Acme support is active"
    paths = [r.path for r in twilio.requests]
    assert paths == [
        f"/2010-04-01/Accounts/{ACCOUNT_SID}.json",
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers.json",
    ]
    assert twilio.requests[1].query == {"PhoneNumber": NUMBER}


async def test_the_check_says_where_the_number_sends_its_messages(twilio: FakeTwilio) -> None:
    twilio.numbers = [_number("https://old.example.com/sms")]
    [_, number] = await adapter(twilio).check(_Environment())
    assert not number.ok
    assert "https://old.example.com/sms" in number.detail
    assert webhook_url(1) in number.detail


async def test_the_check_reports_a_number_of_another_account(twilio: FakeTwilio) -> None:
    [_, number] = await adapter(twilio).check(_Environment())
    assert (number.ok, number.detail) == (False, f"{NUMBER} is not a number of this account")


async def test_the_check_reports_refused_credentials(twilio: FakeTwilio) -> None:
    twilio.auth = (ACCOUNT_SID, "another token")
    [credentials] = await adapter(twilio).check(_Environment())
    assert not credentials.ok
    assert "401" in credentials.detail
    assert "20003" in credentials.detail


async def test_the_check_reports_an_unreachable_twilio(twilio: FakeTwilio) -> None:
    await twilio.stop()
    sms: SmsChannel = adapter(twilio)
    [credentials] = await sms.check(_Environment())
    assert not credentials.ok
    assert "could not be reached" in credentials.detail
