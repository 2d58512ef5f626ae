"""Twilio's webhooks through omnidesk's webhook endpoint: signed as Twilio signs them, stored
once, media downloaded from the fake, status callbacks applied, consent recorded."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select

from omnidesk.conversations.models import Attachment, Message
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.db import Database
from tests.channels.api.conftest import reply
from tests.channels.sms.conftest import form_of, make_sms_inbox, twilio_signature, webhook_url
from tests.channels.sms.fake_twilio import CUSTOMER, FakeTwilio
from tests.conftest import Tenant

JPEG = b"\xff\xd8\xff\xe0" + b"box" * 100
ME = "ME4b1f2e3d4c5b6a7980a1b2c3d4e5f6a7"


async def post(
    client: httpx.AsyncClient,
    inbox_id: int,
    form: list[tuple[str, str]],
    *,
    signature: str | None = "sign",
) -> httpx.Response:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature == "sign":
        signature = twilio_signature(webhook_url(inbox_id), form)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return await client.post(
        f"/api/v1/webhooks/sms/{inbox_id}", content=urlencode(form), headers=headers
    )


async def stored(db: Database) -> list[Message]:
    async with db.sessionmaker() as session:
        return list(await session.scalars(select(Message).order_by(Message.id)))


async def test_a_text_is_stored_once_and_answered_with_empty_twiml(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_sms_inbox(client, tenant)
    first = await post(client, inbox["id"], form_of("inbound_sms.txt"))
    again = await post(client, inbox["id"], form_of("inbound_sms.txt"))
    assert first.status_code == again.status_code == 200
    assert first.headers["content-type"].startswith("text/xml")
    assert first.text.endswith("<Response />")
    [message] = await stored(db)
    assert message.body == "Hi there, my order #1234 has not arrived"
    assert message.channel_message_id == "SM1f0e8ae6ade43cb3c0ce4525424e404f"
    contact = await client.get(f"/api/v1/contacts/{message.sender_id}", headers=tenant.headers)
    assert [(i["kind"], i["value"]) for i in contact.json()["identities"]] == [("phone", CUSTOMER)]


@pytest.mark.parametrize("signature", [None, "", "forged", "other-token"])
async def test_a_forged_or_missing_signature_is_refused_and_nothing_stored(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, signature: str | None
) -> None:
    inbox = await make_sms_inbox(client, tenant)
    form = form_of("inbound_sms.txt")
    if signature == "forged":
        signature = "3Y9mYxGz0Z0fakeYr0ZsKzj0vVg="
    elif signature == "other-token":
        signature = twilio_signature(webhook_url(inbox["id"]), form, token="x" * 32)
    response = await post(client, inbox["id"], form, signature=signature)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert await stored(db) == []


async def test_a_signature_for_another_inbox_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    first = await make_sms_inbox(client, tenant)
    second = await make_sms_inbox(client, tenant)
    form = form_of("inbound_sms.txt")
    stolen = twilio_signature(webhook_url(first["id"]), form)
    response = await post(client, second["id"], form, signature=stolen)
    assert response.status_code == 403
    assert await stored(db) == []


async def test_a_malformed_webhook_is_a_422(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    inbox = await make_sms_inbox(client, tenant)
    form = [(k, v) for k, v in form_of("inbound_sms.txt") if k != "From"]
    response = await post(client, inbox["id"], form)
    assert response.status_code == 422
    assert response.json()["field"] == "From"
    assert await stored(db) == []


async def test_an_mms_picture_is_downloaded_into_the_message(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, twilio: FakeTwilio
) -> None:
    twilio.media[ME] = (JPEG, "image/jpeg")
    inbox = await make_sms_inbox(client, tenant)
    response = await post(client, inbox["id"], form_of("inbound_mms.txt", twilio))
    assert response.status_code == 200
    [message] = await stored(db)
    assert message.body == "Here is the damaged box"
    async with db.sessionmaker() as session:
        [attachment] = await session.scalars(
            select(Attachment).where(Attachment.message_id == message.id)
        )
    assert (attachment.filename, attachment.content_type) == (f"{ME}.jpg", "image/jpeg")
    assert attachment.size == len(JPEG)


async def test_a_picture_twilio_no_longer_has_leaves_the_text(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, twilio: FakeTwilio
) -> None:
    inbox = await make_sms_inbox(client, tenant)
    response = await post(client, inbox["id"], form_of("inbound_mms.txt", twilio))
    assert response.status_code == 200
    [message] = await stored(db)
    assert message.body == "Here is the damaged box"
    [error] = message.meta["media_errors"]
    assert "404" in error["reason"]


async def test_status_callbacks_move_a_reply_forward_never_back(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    twilio: FakeTwilio,
    runner: JobRunner,
) -> None:
    inbox = await make_sms_inbox(client, tenant)
    assert (await post(client, inbox["id"], form_of("inbound_sms.txt"))).status_code == 200
    [inbound] = await stored(db)
    sent = await reply(client, tenant, inbound.conversation_id, "We are on it")
    assert await runner.run_once() == 1
    sid = twilio.messages[0]["sid"]

    def callback(status: str, **extra: str) -> list[tuple[str, str]]:
        values: dict[str, Any] = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status}
        values["SmsStatus"] = status
        values.update(extra)
        form = [(k, values.get(k, v)) for k, v in form_of("status_delivered.txt")]
        return form + [(k, v) for k, v in extra.items() if k not in dict(form)]

    assert (await post(client, inbox["id"], callback("delivered"))).status_code == 200
    assert (await post(client, inbox["id"], callback("sent"))).status_code == 200  # late
    response = await client.get(
        f"/api/v1/conversations/{inbound.conversation_id}/messages", headers=tenant.headers
    )
    [ours] = [m for m in response.json()["items"] if m["id"] == sent["id"]]
    assert ours["delivery_status"] == "delivered"

    # An unknown SID (another system's message on the same number) is ignored.
    other = [
        (k, "SM" + "9" * 32 if k in ("MessageSid", "SmsSid") else v) for k, v in callback("failed")
    ]
    assert (await post(client, inbox["id"], other)).status_code == 200
    async with db.sessionmaker() as session:
        message = await session.get(Message, sent["id"])
    assert message is not None
    assert message.delivery_status == "delivered"


async def test_an_undelivered_callback_fails_the_reply_with_its_reason(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    twilio: FakeTwilio,
    runner: JobRunner,
) -> None:
    inbox = await make_sms_inbox(client, tenant)
    assert (await post(client, inbox["id"], form_of("inbound_sms.txt"))).status_code == 200
    [inbound] = await stored(db)
    sent = await reply(client, tenant, inbound.conversation_id, "We are on it")
    assert await runner.run_once() == 1
    sid = twilio.messages[0]["sid"]
    form = [
        (k, sid if k in ("MessageSid", "SmsSid") else v)
        for k, v in form_of("status_undelivered.txt")
    ]
    assert (await post(client, inbox["id"], form)).status_code == 200
    async with db.sessionmaker() as session:
        message = await session.get(Message, sent["id"])
    assert message is not None
    assert (message.delivery_status, message.delivery_reason) == ("failed", "invalid_recipient")
    assert message.delivery_error == "Twilio error 30003"


async def test_stop_by_webhook_records_the_opt_out_and_refuses_replies(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    twilio: FakeTwilio,
    runner: JobRunner,
) -> None:
    inbox = await make_sms_inbox(client, tenant)
    assert (await post(client, inbox["id"], form_of("inbound_stop.txt"))).status_code == 200
    [stop] = await stored(db)
    contact = await client.get(f"/api/v1/contacts/{stop.sender_id}", headers=tenant.headers)
    [identity] = contact.json()["identities"]
    assert identity["consent"] == "opt_out"

    sent = await reply(client, tenant, stop.conversation_id, "Noted")
    assert await runner.run_once() == 1
    assert twilio.created() == []
    async with db.sessionmaker() as session:
        message = await session.get(Message, sent["id"])
    assert message is not None
    assert (message.delivery_status, message.delivery_reason) == ("failed", "opted_out")
