"""The inbound writer: customers' messages stored in shared transactions, each on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from omnidesk.channels.base import Inbound, InboundSender
from omnidesk.conversations.inbound import InboundWriter
from omnidesk.conversations.models import Message
from omnidesk.conversations.service import InboundItem, ReceiveResult
from omnidesk.events.models import Event
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.db import Database
from omnidesk.kit.errors import NotFound, ServiceUnavailable, ValidationFailed
from tests.conftest import Tenant

MakeInbox = Callable[[Tenant], Awaitable[Inbox]]


def _writer(app: FastAPI) -> InboundWriter:
    writer = app.state.container.inbound
    assert isinstance(writer, InboundWriter)
    return writer


def _item(
    inbox: Inbox,
    message_id: str,
    *,
    email: str = "carla@example.com",
    account_id: int | None = None,
    extra: tuple[tuple[str, str], ...] = (),
    fields: tuple[str, ...] | None = None,
    meta: dict[str, object] | None = None,
) -> InboundItem:
    return InboundItem(
        account_id=inbox.account_id if account_id is None else account_id,
        inbox_id=inbox.id,
        inbound=Inbound(
            channel_message_id=message_id,
            sender=InboundSender(kind="email", value=email, extra_identities=extra),
            body=f"message {message_id}",
            meta=meta or {},
        ),
        channel_type="api",
        handle_fields=fields,
    )


def _count_commits(db: Database) -> list[int]:
    """Events per committed transaction, as the unit of work hands them to its sinks."""
    commits: list[int] = []

    async def sink(events: list[Event]) -> None:
        commits.append(len(events))

    db.event_sinks.append(sink)
    return commits


async def test_messages_arriving_together_share_a_transaction_and_are_each_stored(
    app: FastAPI, db: Database, tenant: Tenant, make_inbox: MakeInbox
) -> None:
    inbox = await make_inbox(tenant)
    commits = _count_commits(db)
    senders = [f"customer-{n % 10}@example.com" for n in range(40)]
    results = await asyncio.gather(
        *(_writer(app).receive(_item(inbox, f"m-{n}", email=s)) for n, s in enumerate(senders))
    )
    assert all(r.created for r in results)
    assert [r.message.channel_message_id for r in results] == [f"m-{n}" for n in range(40)]
    # Ten customers: ten conversations, each holding its customer's four messages.
    by_conversation: dict[int, set[int]] = {}
    for result in results:
        by_conversation.setdefault(result.conversation.id, set()).add(result.message.sender_id)
    assert len(by_conversation) == 10
    assert all(len(contacts) == 1 for contacts in by_conversation.values())
    assert len(commits) < 40  # fewer transactions than messages
    async with db.transaction() as session:
        stored = await session.scalar(select(func.count()).select_from(Message))
        received = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "message.received")
        )
    assert (stored, received) == (40, 40)


async def test_a_refused_message_does_not_refuse_the_others_of_its_batch(
    app: FastAPI, db: Database, tenant: Tenant, other_tenant: Tenant, make_inbox: MakeInbox
) -> None:
    inbox = await make_inbox(tenant)
    outcomes = await asyncio.gather(
        _writer(app).receive(_item(inbox, "ok-1")),
        _writer(app).receive(_item(inbox, "foreign", account_id=other_tenant.account_id)),
        _writer(app).receive(
            _item(inbox, "bad", extra=(("phone", "not a phone"),), fields=("a", "sender.phone"))
        ),
        _writer(app).receive(_item(inbox, "ok-1")),  # the same message again, same batch
        _writer(app).receive(_item(inbox, "ok-2", email="dan@example.com")),
        return_exceptions=True,
    )
    first, foreign, bad, again, other = outcomes
    assert isinstance(first, ReceiveResult)
    assert first.created
    assert isinstance(foreign, NotFound)
    assert isinstance(bad, ValidationFailed)
    assert bad.field == "sender.phone"
    assert isinstance(again, ReceiveResult)
    assert not again.created
    assert again.message.id == first.message.id
    assert isinstance(other, ReceiveResult)
    assert other.created
    async with db.transaction() as session:
        ids = set(await session.scalars(select(Message.channel_message_id)))
    assert ids == {"ok-1", "ok-2"}


async def test_a_message_the_database_cannot_store_fails_alone(
    app: FastAPI, db: Database, tenant: Tenant, make_inbox: MakeInbox
) -> None:
    inbox = await make_inbox(tenant)
    poison = _item(inbox, "poison", meta={"not json": object()})
    outcomes = await asyncio.gather(
        _writer(app).receive(_item(inbox, "before")),
        _writer(app).receive(poison),
        _writer(app).receive(_item(inbox, "after", email="dan@example.com")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], ReceiveResult)
    assert outcomes[0].created
    assert isinstance(outcomes[1], Exception)
    assert not isinstance(outcomes[1], ReceiveResult)
    assert isinstance(outcomes[2], ReceiveResult)
    assert outcomes[2].created
    async with db.transaction() as session:
        ids = set(await session.scalars(select(Message.channel_message_id)))
    assert ids == {"before", "after"}


async def test_stopping_stores_what_was_handed_over_then_refuses(
    db: Database, tenant: Tenant, make_inbox: MakeInbox, app: FastAPI
) -> None:
    inbox = await make_inbox(tenant)
    container = app.state.container
    writer = InboundWriter(db, container.clock, container.storage)
    await writer.start()
    pending = [asyncio.ensure_future(writer.receive(_item(inbox, f"s-{n}"))) for n in range(5)]
    await asyncio.sleep(0)  # handed over
    await writer.stop()
    assert all(task.result().created for task in pending)
    with pytest.raises(ServiceUnavailable):
        await writer.receive(_item(inbox, "late"))


async def test_a_message_that_comes_alone_is_written_without_waiting_for_company(
    app: FastAPI, tenant: Tenant, make_inbox: MakeInbox
) -> None:
    inbox = await make_inbox(tenant)
    writer = _writer(app)
    writer.linger_s = 1.0
    assert (await writer.receive(_item(inbox, "first"))).created
    await asyncio.sleep(1.2)
    # Messages this far apart leave no batch to fill: had the writer waited its second for
    # company, this one would not be stored in time.
    result = await asyncio.wait_for(writer.receive(_item(inbox, "second")), timeout=0.9)
    assert result.created


async def test_messages_coming_fast_wait_for_each_other_to_share_a_transaction(
    app: FastAPI, db: Database, tenant: Tenant, make_inbox: MakeInbox
) -> None:
    inbox = await make_inbox(tenant)
    writer = _writer(app)
    writer.linger_s = 0.5
    # A burst teaches the writer that messages come faster than it would wait for them.
    await asyncio.gather(*(writer.receive(_item(inbox, f"burst-{n}")) for n in range(5)))
    commits = _count_commits(db)
    pending = []
    for n in range(4):
        pending.append(asyncio.create_task(writer.receive(_item(inbox, f"fast-{n}"))))
        await asyncio.sleep(0.01)
    results = await asyncio.gather(*pending)
    assert all(r.created for r in results)
    # One transaction for all four, though none arrived while another was being written.
    assert commits == [4]
