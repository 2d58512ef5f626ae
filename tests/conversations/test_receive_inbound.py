from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select

from omnidesk.channels.base import Inbound, InboundSender
from omnidesk.conversations import service
from omnidesk.conversations.models import Conversation, Message
from omnidesk.events.models import Event
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from tests.conftest import Tenant

MakeInbox = Callable[[Tenant], Awaitable[Inbox]]


def _inbound(
    message_id: str,
    *,
    email: str = "carla@example.com",
    thread: str | None = None,
    body: str = "Where is my order?",
) -> Inbound:
    return Inbound(
        channel_message_id=message_id,
        sender=InboundSender(kind="email", value=email, name="Carla"),
        body=body,
        thread_id=thread,
    )


async def _receive(db: Database, inbox: Inbox, inbound: Inbound) -> service.ReceiveResult:
    async with db.transaction() as session:
        return await service.receive_inbound(session, FrozenClock(), inbox=inbox, inbound=inbound)


async def test_the_same_provider_id_is_stored_once(
    db: Database, tenant: Tenant, make_inbox: MakeInbox
) -> None:
    inbox = await make_inbox(tenant)
    first = await _receive(db, inbox, _inbound("m-1"))
    again = await _receive(db, inbox, _inbound("m-1"))
    assert first.created
    assert not again.created
    assert again.message.id == first.message.id
    async with db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(Message))
        received = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "message.received")
        )
    assert (count, received) == (1, 1)


async def test_concurrent_duplicates_store_one_message(
    db: Database, tenant: Tenant, make_inbox: MakeInbox
) -> None:
    inbox = await make_inbox(tenant)
    # The contact is known (from another inbox) but has no conversation in this one yet.
    await _receive(db, await make_inbox(tenant), _inbound("m-0"))
    published: list[str] = []

    async def sink(events: list[Event]) -> None:
        published.extend(e.type for e in events)

    db.event_sinks.append(sink)
    async with db.transaction() as session:
        before = await session.scalar(select(func.max(Event.id))) or 0
    results = await asyncio.gather(*(_receive(db, inbox, _inbound("m-race")) for _ in range(4)))
    assert sum(r.created for r in results) == 1
    assert len({r.message.id for r in results}) == 1
    async with db.transaction() as session:
        conversations = await session.scalar(select(func.count()).select_from(Conversation))
        stored = [e.type for e in await session.scalars(select(Event).where(Event.id > before))]
    # The losers of the race leave nothing behind: no empty conversation, no event.
    assert conversations == 2
    assert sorted(stored) == sorted(published)
    assert stored.count("message.received") == 1


async def test_a_known_identity_attaches_to_its_contact_and_conversation(
    db: Database, tenant: Tenant, make_inbox: MakeInbox
) -> None:
    inbox = await make_inbox(tenant)
    first = await _receive(db, inbox, _inbound("m-1", email="Carla@Example.com"))
    second = await _receive(db, inbox, _inbound("m-2", email="carla@example.com"))
    assert second.conversation.contact_id == first.conversation.contact_id
    assert second.conversation.id == first.conversation.id
    stranger = await _receive(db, inbox, _inbound("m-3", email="dan@example.com"))
    assert stranger.conversation.contact_id != first.conversation.contact_id


async def test_threads_keep_conversations_apart(
    db: Database, tenant: Tenant, make_inbox: MakeInbox
) -> None:
    inbox = await make_inbox(tenant)
    a = await _receive(db, inbox, _inbound("m-1", thread="order-1"))
    b = await _receive(db, inbox, _inbound("m-2", thread="order-2"))
    a_again = await _receive(db, inbox, _inbound("m-3", thread="order-1"))
    assert a.conversation.id != b.conversation.id
    assert a_again.conversation.id == a.conversation.id


async def test_a_customer_reply_reopens_a_resolved_conversation_but_not_a_closed_one(
    db: Database, tenant: Tenant, make_inbox: MakeInbox
) -> None:
    inbox = await make_inbox(tenant)
    first = await _receive(db, inbox, _inbound("m-1"))
    async with db.transaction() as session:
        conversation = await session.get(type(first.conversation), first.conversation.id)
        assert conversation is not None
        conversation.status = "resolved"
    reopened = await _receive(db, inbox, _inbound("m-2"))
    assert reopened.conversation.id == first.conversation.id
    assert reopened.conversation.status == "open"
    async with db.transaction() as session:
        conversation = await session.get(type(first.conversation), first.conversation.id)
        assert conversation is not None
        conversation.status = "closed"
    fresh = await _receive(db, inbox, _inbound("m-3"))
    assert fresh.conversation.id != first.conversation.id


async def test_text_the_database_cannot_hold_is_scrubbed_not_refused(
    db: Database, tenant: Tenant, make_inbox: MakeInbox
) -> None:
    inbox = await make_inbox(tenant)
    result = await _receive(db, inbox, _inbound("m-1", body="caf\x00é \ud83d ok 👋"))
    async with db.transaction() as session:
        stored = await session.get(Message, result.message.id)
    assert stored is not None
    assert stored.body == "café ? ok 👋"
