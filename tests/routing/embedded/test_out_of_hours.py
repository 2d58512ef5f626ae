"""Out-of-hours actions applied by the real router to work entering a closed queue.

The London office is open Monday to Friday, 09:00-17:00 local time, and closed on Good
Friday 2026 (3 April). British Summer Time starts on 29 March 2026, so from then on the
office opens at 08:00 UTC.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from omnidesk.channels.base import Inbound, InboundSender
from omnidesk.conversations import service as conversations
from omnidesk.conversations.models import Conversation, Message
from omnidesk.inboxes.models import Inbox
from omnidesk.jobs.models import Job
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.routing import after_hours
from omnidesk.routing.models import Queue
from tests.channels.api.receiver import Receiver
from tests.conftest import Tenant
from tests.routing.api.conftest import API, events_of, ok
from tests.routing.embedded.support import Desk, router_of, work_items

OFFICE = {
    day: [{"start": "09:00", "end": "17:00"}]
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}
GOOD_FRIDAY = datetime(2026, 4, 3, 9, 0, tzinfo=UTC)  # 10:00 BST, a holiday
EASTER_MONDAY_OPENING = "2026-04-06T08:00:00+00:00"  # 09:00 BST
MONDAY_EVENING = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)  # 18:00 GMT, closed


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(MONDAY_EVENING)


@pytest.fixture
def runner(app: FastAPI) -> JobRunner:
    jobs: JobRunner = app.state.container.jobs
    return jobs


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    yield started
    await started.stop()


async def _close_default_queue(
    client: httpx.AsyncClient, tenant: Tenant, action: str, message: str = ""
) -> dict[str, Any]:
    calendar = ok(
        await client.post(
            f"{API}/business-hours",
            json={
                "name": "London office",
                "timezone": "Europe/London",
                "weekly": OFFICE,
                "holidays": [{"name": "Good Friday", "start": "2026-04-03"}],
            },
            headers=tenant.headers,
        ),
        201,
    )
    queues = ok(await client.get(f"{API}/queues", headers=tenant.headers))
    [default] = [q for q in queues if q["is_default"]]
    queue: dict[str, Any] = ok(
        await client.patch(
            f"{API}/queues/{default['id']}",
            json={
                "business_hours_id": calendar["id"],
                "out_of_hours_action": action,
                "out_of_hours_message": message,
            },
            headers=tenant.headers,
        )
    )
    return queue


def _move_to(frozen: FrozenClock, when: datetime) -> None:
    frozen.advance(when - frozen.now())


async def _queued(db: Database, tenant: Tenant, conversation_id: int) -> list[dict[str, Any]]:
    return [
        e.data
        for e in await events_of(db, tenant.account_id, "work_item.queued")
        if e.conversation_id == conversation_id
    ]


async def _system_messages(db: Database, conversation_id: int) -> list[Message]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.sender_type == "system")
            .order_by(Message.id)
        )
        return list(rows)


async def test_keep_waiting_on_a_holiday_then_routed_when_open_in_summer_time(
    desk: Desk, client: httpx.AsyncClient, frozen: FrozenClock, db: Database, tenant: Tenant
) -> None:
    await _close_default_queue(client, tenant, "keep_waiting")
    _move_to(frozen, GOOD_FRIDAY)  # a Friday at 10:00 local: open, were it not a holiday

    waiting = await desk.customer_writes("una@example.com")
    [item] = await work_items(db, waiting)
    assert item.status == "waiting"
    [queued] = await _queued(db, tenant, waiting)
    # Closed over the long weekend: next open on Monday at 09:00 BST, which is 08:00 UTC.
    assert queued["out_of_hours"] is True
    assert queued["opens_at"] == EASTER_MONDAY_OPENING
    assert queued["out_of_hours_action"] == "keep_waiting"
    [applied] = await events_of(db, tenant.account_id, "work_item.out_of_hours")
    assert (applied.data["action"], applied.data["applied"]) == ("keep_waiting", "keep_waiting")
    assert await _system_messages(db, waiting) == []

    # 08:30 UTC on Monday is 09:30 BST: open (in winter time it would still be closed).
    _move_to(frozen, datetime(2026, 4, 6, 8, 30, tzinfo=UTC))
    _agent_id, headers = await desk.agent()
    fresh = await desk.customer_writes("vic@example.com")
    assert "out_of_hours" not in (await _queued(db, tenant, fresh))[0]
    offered = sorted(o["conversation_id"] for o in await desk.offers(headers))
    assert offered == sorted([waiting, fresh])


async def test_an_auto_reply_goes_out_through_the_channel_once_per_closed_period(
    client: httpx.AsyncClient,
    app: FastAPI,
    tenant: Tenant,
    frozen: FrozenClock,
    db: Database,
    runner: JobRunner,
    receiver: Receiver,
) -> None:
    inbox = ok(
        await client.post(
            "/api/v1/inboxes",
            json={"name": "Shop", "channel_type": "api", "config": {"webhook_url": receiver.url}},
            headers=tenant.headers,
        ),
        201,
    )
    desk = Desk(client, app, tenant)
    desk.inbox_id = inbox["id"]
    await _close_default_queue(client, tenant, "auto_reply", "{queue} is closed: back {next_open}")

    conversation_id = await desk.customer_writes("wes@example.com")
    [item] = await work_items(db, conversation_id)
    assert item.status == "waiting"  # the reply does not end the wait
    [reply] = await _system_messages(db, conversation_id)
    expected = "General is closed: back Tuesday 6 January 2026, 09:00 (Europe/London)"
    assert (reply.direction, reply.kind, reply.body) == ("outbound", "message", expected)
    # Through the outbox, like an agent's reply: delivered to the customer's system.
    assert await runner.run_once() == 1
    [delivered] = receiver.requests
    assert delivered.json()["body"] == expected
    assert delivered.json()["recipient"] == {"email": "wes@example.com"}
    [applied] = await events_of(db, tenant.account_id, "work_item.out_of_hours")
    assert applied.data["message_id"] == reply.id
    async with db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        # An automatic answer is not the centre's first response.
        assert conversation.first_response_at is None

    # Resolved, then the customer writes again the same evening: new work, no second reply.
    resolved = {"status": "resolved"}
    url = f"/api/v1/conversations/{conversation_id}"
    ok(await client.patch(url, json=resolved, headers=tenant.headers))
    await router_of(app).settled()
    frozen.advance(600)
    assert await desk.customer_writes("wes@example.com", 1) == conversation_id
    assert len(await _system_messages(db, conversation_id)) == 1
    [_, again] = await _queued(db, tenant, conversation_id)
    assert (again["out_of_hours"], again["out_of_hours_action"]) == (True, "keep_waiting")

    # The next evening is another closed period: the customer is answered again.
    ok(await client.patch(url, json=resolved, headers=tenant.headers))
    await router_of(app).settled()
    frozen.advance(24 * 3600)
    await desk.customer_writes("wes@example.com", 2)
    later = await _system_messages(db, conversation_id)
    assert [m.body for m in later][-1] == (
        "General is closed: back Wednesday 7 January 2026, 09:00 (Europe/London)"
    )


async def test_close_answers_resolves_and_is_not_abandoned(
    desk: Desk, client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _close_default_queue(client, tenant, "close", "Closed until {next_open}.")
    _agent_id, headers = await desk.agent()  # working late: still, the queue closes the work

    conversation_id = await desk.customer_writes("xia@example.com")
    [item] = await work_items(db, conversation_id)
    assert (item.status, item.agent_id) == ("cancelled", None)
    assert item.ended_at is not None
    assert (await desk.conversation(conversation_id))["status"] == "resolved"
    [reply] = await _system_messages(db, conversation_id)
    assert reply.body == "Closed until Tuesday 6 January 2026, 09:00 (Europe/London)."
    async with db.transaction() as session:
        job = await session.scalar(select(Job).where(Job.idempotency_key == f"message:{reply.id}"))
        assert job is not None  # enqueued for delivery in the router's transaction
    [ended] = await events_of(db, tenant.account_id, "work_item.ended")
    assert (ended.data["status"], ended.data["reason"]) == ("cancelled", "out_of_hours")
    assert await desk.offers(headers) == []
    [resolved] = await events_of(db, tenant.account_id, "conversation.resolved")
    assert resolved.actor_user_id is None  # by the system

    stats = ok(await client.get(f"{API}/stats", headers=tenant.headers))
    [queue] = stats["queues"]
    assert (queue["answered"], queue["abandoned"], queue["waiting"]) == (0, 0, 0)


async def test_voicemail_is_noted_for_voice_work_and_other_work_keeps_waiting(
    desk: Desk,
    app: FastAPI,
    client: httpx.AsyncClient,
    frozen: FrozenClock,
    db: Database,
    tenant: Tenant,
) -> None:
    await _close_default_queue(client, tenant, "voicemail")
    # No voice channel yet: a voice inbox's call arrives like any customer's message.
    async with db.transaction() as session:
        phone = Inbox(
            account_id=tenant.account_id,
            name="Hotline",
            channel_type="voice",
            config={},
            secrets_encrypted="",
            created_at=frozen.now(),
            updated_at=frozen.now(),
        )
        session.add(phone)
        await session.flush()
        call = await conversations.receive_inbound(
            session,
            frozen,
            inbox=phone,
            inbound=Inbound(
                channel_message_id="call-1",
                sender=InboundSender(kind="phone", value="+14155550100"),
                body="(incoming call)",
            ),
        )
    await router_of(app).settled()
    chat = await desk.customer_writes("yan@example.com")

    [voice_item] = await work_items(db, call.conversation.id)
    [chat_item] = await work_items(db, chat)
    assert (voice_item.channel, voice_item.status) == ("voice", "waiting")
    assert chat_item.status == "waiting"
    [voice_queued] = await _queued(db, tenant, call.conversation.id)
    [chat_queued] = await _queued(db, tenant, chat)
    assert (voice_queued["out_of_hours_action"], voice_queued["voicemail"]) == ("voicemail", True)
    assert (chat_queued["out_of_hours_action"], chat_queued["voicemail"]) == (
        "keep_waiting",
        False,
    )
    assert await _system_messages(db, chat) == []


def test_an_empty_message_falls_back_to_the_actions_default_text() -> None:
    queue = Queue(name="Sales", out_of_hours_action="auto_reply", out_of_hours_message="  ")
    closure = after_hours.Closure(datetime(2026, 7, 1, 8, 0, tzinfo=UTC), "Europe/Paris")
    assert after_hours.render(queue, closure) == (
        "Thanks for your message. We are closed right now and will answer from "
        "Wednesday 1 July 2026, 10:00 (Europe/Paris)."
    )
    never = after_hours.Closure(None, "Europe/Paris")
    assert after_hours.render(queue, never).endswith("will answer from our next opening.")
    # A template saved before placeholders were checked does not break the router.
    queue.out_of_hours_message = "Back {when}"
    assert after_hours.render(queue, closure).startswith("Thanks for your message.")
