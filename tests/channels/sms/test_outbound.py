"""Agents' replies leave through the outbox to the loopback fake of Twilio's REST API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from omnidesk.conversations.models import Message
from omnidesk.conversations.service import InboundItem
from omnidesk.jobs.models import Job
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from tests.channels.api.conftest import reply
from tests.channels.sms.conftest import adapter, form_of, make_sms_inbox, signed, webhook_url
from tests.channels.sms.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, CUSTOMER, NUMBER, FakeTwilio
from tests.conftest import Tenant


async def receive(
    app: FastAPI,
    tenant: Tenant,
    twilio: FakeTwilio,
    inbox_id: int,
    payload: str | list[tuple[str, str]],
) -> int:
    """A customer's text (a recorded payload or a form) stored as the webhook pipeline
    stores it; its conversation's id."""
    form = form_of(payload) if isinstance(payload, str) else payload
    [inbound] = adapter(twilio, inbox_id).parse(signed(form, inbox_id))
    writer = app.state.container.inbound
    result = await writer.receive(InboundItem(tenant.account_id, inbox_id, inbound, "sms"))
    conversation_id: int = result.conversation.id
    return conversation_id


async def _open(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, twilio: FakeTwilio, **config: Any
) -> tuple[dict[str, Any], int]:
    inbox = await make_sms_inbox(client, tenant, **config)
    return inbox, await receive(app, tenant, twilio, inbox["id"], "inbound_sms.txt")


async def _state(db: Database, message_id: int) -> tuple[Message, Job]:
    async with db.sessionmaker() as session:
        message = await session.get(Message, message_id)
        job = await session.scalar(
            select(Job).where(Job.idempotency_key == f"message:{message_id}")
        )
    assert message is not None
    assert job is not None
    return message, job


async def test_a_reply_is_sent_from_the_inbox_number(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    runner: JobRunner,
    twilio: FakeTwilio,
    db: Database,
) -> None:
    inbox, conversation_id = await _open(app, client, tenant, twilio)
    assert inbox["webhook_url"] == webhook_url(inbox["id"])
    sent = await reply(client, tenant, conversation_id, "We are on it")

    assert await runner.run_once() == 1

    [request] = twilio.created()
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(request.form) == {
        "To": CUSTOMER,
        "From": NUMBER,
        "Body": "We are on it",
        "StatusCallback": webhook_url(inbox["id"]),
    }
    message, job = await _state(db, sent["id"])
    assert (message.delivery_status, job.status) == ("sent", "done")
    assert message.channel_message_id == twilio.messages[0]["sid"]


async def test_a_messaging_service_sends_instead_of_the_number(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, runner: JobRunner, twilio: FakeTwilio
) -> None:
    service = "MG" + "a" * 32
    _, conversation_id = await _open(
        app, client, tenant, twilio, phone_number=NUMBER, messaging_service_sid=service
    )
    await reply(client, tenant, conversation_id, "Hello")
    assert await runner.run_once() == 1
    [request] = twilio.created()
    assert request.field("MessagingServiceSid") == service
    assert request.field("From") is None


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        (400, 21211, "invalid_recipient"),
        (400, 21614, "invalid_recipient"),
        (400, 21610, "opted_out"),
        (400, 21408, "rejected"),
        (400, 21612, "blocked"),
        (401, 20003, "auth_failed"),
        (400, 21999, "rejected"),  # a code we do not know: final, said as rejected
    ],
)
async def test_refusals_fail_the_message_for_good_with_their_reason(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    runner: JobRunner,
    twilio: FakeTwilio,
    db: Database,
    status: int,
    code: int,
    reason: str,
) -> None:
    twilio.create_answers = [(status, code)]
    _, conversation_id = await _open(app, client, tenant, twilio)
    sent = await reply(client, tenant, conversation_id, "Hello")

    assert await runner.run_once() == 1

    message, job = await _state(db, sent["id"])
    assert (message.delivery_status, job.status, job.attempts) == ("failed", "dead", 1)
    assert message.delivery_error is not None
    assert message.delivery_reason == reason
    assert f"error {code}" in message.delivery_error
    assert len(twilio.created()) == 1


@pytest.mark.parametrize("answer", [(503, 20500), (429, 20429), (500, 0), "drop"])
async def test_outages_and_rate_limits_are_retried_without_sending_twice(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    runner: JobRunner,
    twilio: FakeTwilio,
    db: Database,
    frozen: FrozenClock,
    answer: tuple[int, int] | str,
) -> None:
    twilio.create_answers = [answer]
    _, conversation_id = await _open(app, client, tenant, twilio)
    sent = await reply(client, tenant, conversation_id, "We are on it")

    assert await runner.run_once() == 1
    message, job = await _state(db, sent["id"])
    assert (message.delivery_status, job.status, job.attempts) == ("queued", "pending", 1)
    assert job.last_error is not None
    expected = "rate_limited" if answer == (429, 20429) else "provider_unavailable"
    assert job.last_error.startswith(f"DeliveryFailed: [{expected}] ")

    frozen.advance(13)
    assert await runner.run_once() == 1
    message, job = await _state(db, sent["id"])
    assert (message.delivery_status, job.status) == ("sent", "done")
    # A dropped answer had reached Twilio: the retry finds that message instead of sending
    # it again. The others never reached it, so the retry sends.
    assert len(twilio.messages) == 1
    assert message.channel_message_id == twilio.messages[0]["sid"]
    assert len(twilio.created()) == (1 if answer == "drop" else 2)


async def test_a_retry_still_sends_a_text_equal_to_an_earlier_reply(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    runner: JobRunner,
    twilio: FakeTwilio,
    frozen: FrozenClock,
) -> None:
    """The search for an earlier attempt only counts messages created since this reply."""
    _, conversation_id = await _open(app, client, tenant, twilio)
    await reply(client, tenant, conversation_id, "Thanks!")
    assert await runner.run_once() == 1
    frozen.advance(3600)
    twilio.create_answers = [(503, 20500)]
    await reply(client, tenant, conversation_id, "Thanks!")
    assert await runner.run_once() == 1
    frozen.advance(13)
    assert await runner.run_once() == 1
    assert [m["body"] for m in twilio.messages] == ["Thanks!", "Thanks!"]


async def test_a_timeout_is_retried(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    runner: JobRunner,
    twilio: FakeTwilio,
    db: Database,
    frozen: FrozenClock,
) -> None:
    twilio.create_answers = ["hang"]
    _, conversation_id = await _open(app, client, tenant, twilio)
    sent = await reply(client, tenant, conversation_id, "Hello")
    assert await runner.run_once() == 1
    message, job = await _state(db, sent["id"])
    assert (message.delivery_status, job.status) == ("queued", "pending")
    assert job.last_error is not None
    assert "did not answer in time" in job.last_error
    frozen.advance(13)
    assert await runner.run_once() == 1
    message, _ = await _state(db, sent["id"])
    assert message.delivery_status == "sent"


async def test_wrong_credentials_fail_for_good(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    runner: JobRunner,
    twilio: FakeTwilio,
    db: Database,
) -> None:
    twilio.auth = (ACCOUNT_SID, AUTH_TOKEN[::-1])
    _, conversation_id = await _open(app, client, tenant, twilio)
    sent = await reply(client, tenant, conversation_id, "Hello")
    assert await runner.run_once() == 1
    message, _ = await _state(db, sent["id"])
    assert message.delivery_status == "failed"
    assert message.delivery_error is not None
    assert message.delivery_reason == "auth_failed"
