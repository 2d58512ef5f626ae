"""Replies leave through the outbox to a real HTTP receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from omnidesk.channels.api import signing
from omnidesk.conversations.models import Message
from omnidesk.events.models import Event
from omnidesk.jobs import outbox
from omnidesk.jobs.models import Job
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from tests.channels.api.conftest import make_api_inbox, post_inbound, reply
from tests.channels.api.receiver import Receiver, free_port
from tests.conftest import Tenant


async def _open(
    client: httpx.AsyncClient, tenant: Tenant, webhook_url: str | None
) -> tuple[dict[str, Any], int]:
    inbox = await make_api_inbox(client, tenant, webhook_url)
    inbound = await post_inbound(client, tenant, inbox["id"], thread_id="t-9", subject="Order")
    assert inbound.status_code == 201, inbound.text
    return inbox, inbound.json()["conversation_id"]


async def _state(db: Database, message_id: int) -> tuple[Message, Job]:
    async with db.sessionmaker() as session:
        message = await session.get(Message, message_id)
        job = await session.scalar(
            select(Job).where(Job.idempotency_key == f"message:{message_id}")
        )
    assert message is not None
    assert job is not None
    return message, job


async def test_a_reply_is_signed_and_delivered(
    client: httpx.AsyncClient, tenant: Tenant, runner: JobRunner, receiver: Receiver, db: Database
) -> None:
    inbox, conversation_id = await _open(client, tenant, receiver.url)
    sent = await reply(client, tenant, conversation_id, "We are on it")
    assert sent["delivery_status"] == "queued"

    assert await runner.run_once() == 1

    [request] = receiver.requests
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == f"message:{sent['id']}"
    assert request.headers["x-omnidesk-event"] == "message.created"
    # The receiver's side of the contract, by hand: t=<ts>,v1=<hmac of "<t>.<body>">.
    header = request.headers["x-omnidesk-signature"]
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(
        inbox["secret"].encode(), f"{fields['t']}.".encode() + request.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
    assert abs(time.time() - int(fields["t"])) < signing.TOLERANCE_S
    signing.verify(inbox["secret"], header, request.body, now=time.time())

    payload = request.json()
    assert payload["event"] == "message.created"
    assert payload["id"] == sent["id"]
    assert payload["conversation_id"] == conversation_id
    assert payload["thread_id"] == "t-9"
    assert payload["recipient"] == {"external_id": "cust-1"}
    assert payload["body"] == "We are on it"
    assert payload["subject"] == "Order"
    assert payload["sender_name"] == "Admin"
    assert payload["created_at"].startswith("2026-01-05T09:00:00")

    message, job = await _state(db, sent["id"])
    assert message.delivery_status == "sent"
    assert message.channel_message_id == "rcv-1"
    assert job.status == "done"
    assert job.finished_at is not None


async def test_the_idempotency_key_is_stable_across_retries(
    client: httpx.AsyncClient,
    tenant: Tenant,
    runner: JobRunner,
    receiver: Receiver,
    db: Database,
    frozen: FrozenClock,
) -> None:
    receiver.statuses = [503, 500]
    _, conversation_id = await _open(client, tenant, receiver.url)
    sent = await reply(client, tenant, conversation_id, "Hello")

    assert await runner.run_once() == 1
    message, job = await _state(db, sent["id"])
    assert (job.status, job.attempts, message.delivery_status) == ("pending", 1, "queued")
    assert job.last_error is not None
    assert "503" in job.last_error
    # backoff_base_s=10 with ±20 % jitter
    assert 8 <= (job.due_at - frozen.now()).total_seconds() <= 12

    assert await runner.run_once() == 0  # not due yet
    frozen.advance(13)
    assert await runner.run_once() == 1  # 500
    _, job = await _state(db, sent["id"])
    assert 16 <= (job.due_at - frozen.now()).total_seconds() <= 24
    frozen.advance(25)
    assert await runner.run_once() == 1  # 200

    keys = [r.headers["idempotency-key"] for r in receiver.requests]
    assert keys == [f"message:{sent['id']}"] * 3
    message, job = await _state(db, sent["id"])
    assert (message.delivery_status, job.status, job.attempts) == ("sent", "done", 3)


async def test_a_target_that_is_down_gets_it_once_when_back(
    client: httpx.AsyncClient, tenant: Tenant, runner: JobRunner, db: Database, frozen: FrozenClock
) -> None:
    port = free_port()
    _, conversation_id = await _open(client, tenant, f"http://127.0.0.1:{port}/hook")
    sent = await reply(client, tenant, conversation_id, "Are you there?")

    for _ in range(2):
        assert await runner.run_once() == 1
        message, job = await _state(db, sent["id"])
        assert (job.status, message.delivery_status) == ("pending", "queued")
        assert "could not be reached" in (job.last_error or "")
        frozen.advance(60)

    receiver = await Receiver(port=port).start()
    try:
        assert await runner.run_once() == 1
        frozen.advance(3600)
        assert await runner.run_once() == 0
    finally:
        await receiver.stop()
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["idempotency-key"] == f"message:{sent['id']}"
    message, job = await _state(db, sent["id"])
    assert (message.delivery_status, job.status, job.attempts) == ("sent", "done", 3)


async def test_a_4xx_is_final_the_message_fails_and_admins_can_retry(
    client: httpx.AsyncClient, tenant: Tenant, runner: JobRunner, receiver: Receiver, db: Database
) -> None:
    receiver.statuses = [400]
    _, conversation_id = await _open(client, tenant, receiver.url)
    sent = await reply(client, tenant, conversation_id, "Hello")

    assert await runner.run_once() == 1
    message, job = await _state(db, sent["id"])
    assert job.status == "dead"
    assert message.delivery_status == "failed"
    assert "400" in (message.delivery_error or "")
    async with db.sessionmaker() as session:
        dead_events = (
            await session.scalars(select(Event).where(Event.type == "job.dead_lettered"))
        ).all()
    assert [(e.audience, e.data["job_id"]) for e in dead_events] == [("supervisors", job.id)]
    assert await runner.run_once() == 0
    assert len(receiver.requests) == 1

    retried = await client.post(f"/api/v1/jobs/{job.id}/retry", headers=tenant.headers)
    assert retried.status_code == 200, retried.text
    assert await runner.run_once() == 1
    message, job = await _state(db, sent["id"])
    assert (message.delivery_status, message.delivery_error, job.status) == ("sent", None, "done")
    assert len(receiver.requests) == 2


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
async def test_retryable_answers_are_retried(
    client: httpx.AsyncClient,
    tenant: Tenant,
    runner: JobRunner,
    receiver: Receiver,
    db: Database,
    status: int,
) -> None:
    receiver.statuses = [status]
    _, conversation_id = await _open(client, tenant, receiver.url)
    sent = await reply(client, tenant, conversation_id, "Hello")
    await runner.run_once()
    message, job = await _state(db, sent["id"])
    assert (job.status, message.delivery_status) == ("pending", "queued")


@pytest.mark.parametrize("status", [301, 302, 401, 403, 404, 410, 422])
async def test_other_answers_are_final(
    client: httpx.AsyncClient,
    tenant: Tenant,
    runner: JobRunner,
    receiver: Receiver,
    db: Database,
    status: int,
) -> None:
    receiver.statuses = [status]
    _, conversation_id = await _open(client, tenant, receiver.url)
    sent = await reply(client, tenant, conversation_id, "Hello")
    await runner.run_once()
    message, job = await _state(db, sent["id"])
    assert (job.status, message.delivery_status) == ("dead", "failed")


async def test_retries_end_in_dead_with_the_last_error(
    client: httpx.AsyncClient,
    tenant: Tenant,
    runner: JobRunner,
    receiver: Receiver,
    db: Database,
    frozen: FrozenClock,
) -> None:
    receiver.default_status = 503
    _, conversation_id = await _open(client, tenant, receiver.url)
    sent = await reply(client, tenant, conversation_id, "Hello")
    for _ in range(runner.settings.jobs.max_attempts):
        assert await runner.run_once() == 1
        frozen.advance(3600)
    message, job = await _state(db, sent["id"])
    assert (job.status, job.attempts) == ("dead", runner.settings.jobs.max_attempts)
    assert message.delivery_status == "failed"
    assert message.delivery_error == job.last_error
    assert "503" in (job.last_error or "")
    assert len(receiver.requests) == runner.settings.jobs.max_attempts


async def test_a_slow_target_times_out_and_is_retried(
    client: httpx.AsyncClient, tenant: Tenant, runner: JobRunner, receiver: Receiver, db: Database
) -> None:
    runner.settings.webhook_timeout_s = 0.2
    receiver.delay_s = 5
    _, conversation_id = await _open(client, tenant, receiver.url)
    sent = await reply(client, tenant, conversation_id, "Hello")
    await runner.run_once()
    message, job = await _state(db, sent["id"])
    assert (job.status, message.delivery_status) == ("pending", "queued")
    assert "in time" in (job.last_error or "")


async def test_ssrf_loopback_is_refused_when_private_addresses_are_not_allowed(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    runner: JobRunner,
    receiver: Receiver,
    db: Database,
) -> None:
    _, conversation_id = await _open(client, tenant, receiver.url)  # saved while allowed
    sent = await reply(client, tenant, conversation_id, "Hello")
    app.state.container.settings.webhooks_allow_private_addresses = False

    await runner.run_once()
    message, job = await _state(db, sent["id"])
    assert (job.status, message.delivery_status) == ("dead", "failed")
    assert "not a public address" in (message.delivery_error or "")
    assert receiver.requests == []


async def test_an_inbox_without_webhook_url_fails_the_reply(
    client: httpx.AsyncClient, tenant: Tenant, runner: JobRunner, db: Database
) -> None:
    _, conversation_id = await _open(client, tenant, None)
    sent = await reply(client, tenant, conversation_id, "Hello")
    await runner.run_once()
    message, job = await _state(db, sent["id"])
    assert (job.status, message.delivery_status) == ("dead", "failed")
    assert "webhook_url" in (message.delivery_error or "")


async def test_a_job_for_a_missing_message_is_dead(
    tenant: Tenant, runner: JobRunner, db: Database, frozen: FrozenClock
) -> None:
    async with db.transaction() as session:
        job = await outbox.enqueue(
            session,
            frozen,
            kind="channel.deliver",
            payload={"message_id": 424242},
            idempotency_key="message:424242",
            account_id=tenant.account_id,
        )
    await runner.run_once()
    async with db.sessionmaker() as session:
        stored = await session.get(Job, job.id)
    assert stored is not None
    assert stored.status == "dead"
    assert "does not exist" in (stored.last_error or "")
