"""Email threading through the real inbound writer (``receive_inbound_many``) on the real
database: raw mails parsed by ``to_inbound``, then stored and threaded."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from omnidesk.accounts.principal import Principal
from omnidesk.channels.base import Inbound
from omnidesk.channels.email.mime import to_inbound
from omnidesk.conversations import service
from omnidesk.conversations.mail_threads import thread_subject
from omnidesk.conversations.models import Conversation, Message
from omnidesk.conversations.schemas import MessageCreate
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from tests.conftest import Tenant

PAYLOADS = Path(__file__).parent / "payloads"


def mail(
    message_id: str | None,
    *,
    sender: str = "carla@example.example.com",
    subject: str = "Order 5 is late",
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    body: str = "Where is my order?",
) -> Inbound:
    headers = [f"From: Carla <{sender}>", "To: support@acme.example.com", f"Subject: {subject}"]
    if message_id:
        headers.append(f"Message-ID: <{message_id}>")
    if in_reply_to:
        headers.append(f"In-Reply-To: <{in_reply_to}>")
    if references:
        headers.append("References: " + " ".join(f"<{r}>" for r in references))
    return to_inbound(("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode())


async def make_email_inbox(db: Database, tenant: Tenant, name: str = "Support") -> Inbox:
    now = FrozenClock().now()
    async with db.transaction() as session:
        inbox = Inbox(
            account_id=tenant.account_id,
            name=name,
            channel_type="email",
            config={},
            secrets_encrypted="",
            created_at=now,
            updated_at=now,
        )
        session.add(inbox)
        await session.flush()
        return inbox


async def receive(
    db: Database, inbox: Inbox, *inbounds: Inbound, clock: FrozenClock | None = None
) -> list[service.ReceiveResult]:
    """One batch through the writer's code, in one transaction."""
    items = [service.InboundItem(inbox.account_id, inbox.id, i) for i in inbounds]
    async with db.transaction() as session:
        outcomes = await service.receive_inbound_many(session, clock or FrozenClock(), items)
    results = []
    for outcome in outcomes:
        assert isinstance(outcome, service.ReceiveResult), outcome
        results.append(outcome)
    return results


async def set_status(db: Database, conversation_id: int, status: str) -> None:
    async with db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.status = status


async def test_a_reply_with_in_reply_to_joins_the_conversation(
    db: Database, tenant: Tenant
) -> None:
    inbox = await make_email_inbox(db, tenant)
    [first] = await receive(db, inbox, mail("m1@example.example.com"))
    [reply] = await receive(
        db,
        inbox,
        mail(
            "m2@example.example.com", subject="Something else", in_reply_to="m1@example.example.com"
        ),
    )
    assert first.created
    assert reply.created
    assert reply.conversation.id == first.conversation.id


async def test_references_alone_thread_to_the_newest_stored_message(
    db: Database, tenant: Tenant
) -> None:
    inbox = await make_email_inbox(db, tenant)
    [a] = await receive(db, inbox, mail("a1@example.example.com", subject="First question"))
    [b] = await receive(db, inbox, mail("b1@example.example.com", subject="Second question"))
    assert a.conversation.id != b.conversation.id
    # References name both, oldest first: the newest stored message (b1) decides.
    [reply] = await receive(
        db,
        inbox,
        mail(
            "r1@example.example.com",
            subject="Re: First question",
            references=(
                "a1@example.example.com",
                "unknown@elsewhere.example.com",
                "b1@example.example.com",
            ),
        ),
    )
    assert reply.conversation.id == b.conversation.id


async def test_a_reply_to_our_outbound_mail_threads(db: Database, tenant: Tenant) -> None:
    inbox = await make_email_inbox(db, tenant)
    [first] = await receive(db, inbox, mail("q1@example.example.com", subject="Refund"))
    clock = FrozenClock()
    agent = Principal(account_id=tenant.account_id, user_id=tenant.admin_id, role="admin")
    async with db.transaction() as session:
        ours, _ = await service.post_message(
            session, clock, agent, first.conversation.id, MessageCreate(body="Approved.")
        )
        # What the transport records once the SMTP server took our reply.
        await service.record_delivery(
            session,
            clock,
            message_id=ours.id,
            state="sent",
            channel_message_id="omnidesk.0123abcd@acme.example.com",
        )
    # A colleague answers from another address, under another subject.
    [reply] = await receive(
        db,
        inbox,
        mail(
            "q2@example.example.com",
            sender="dan@example.example.com",
            subject="Thanks!",
            in_reply_to="omnidesk.0123abcd@acme.example.com",
        ),
    )
    assert reply.conversation.id == first.conversation.id
    assert reply.conversation.contact_id != reply.message.sender_id


async def test_a_bounce_threads_to_the_mail_that_bounced(db: Database, tenant: Tenant) -> None:
    inbox = await make_email_inbox(db, tenant)
    [first] = await receive(db, inbox, mail("kim1@example.example.com", subject="Refund approved"))
    agent = Principal(account_id=tenant.account_id, user_id=tenant.admin_id, role="admin")
    clock = FrozenClock()
    async with db.transaction() as session:
        ours, _ = await service.post_message(
            session, clock, agent, first.conversation.id, MessageCreate(body="Refunded.")
        )
        await service.record_delivery(
            session,
            clock,
            message_id=ours.id,
            state="sent",
            channel_message_id="omnidesk.dddddddddddddddddddddddd@acme.example.com",
        )
    bounce = to_inbound((PAYLOADS / "dsn_bounce_full_original.eml").read_bytes())
    [stored] = await receive(db, inbox, bounce)
    assert stored.conversation.id == first.conversation.id
    assert stored.message.meta["auto"] == "bounce"


async def test_a_hint_is_honoured_only_in_its_own_inbox_and_account(
    db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    inbox = await make_email_inbox(db, tenant)
    second_inbox = await make_email_inbox(db, tenant, "Sales")
    foreign_inbox = await make_email_inbox(db, other_tenant)
    [ours] = await receive(db, inbox, mail("h1@example.example.com", subject="Invoice"))
    [sales] = await receive(db, second_inbox, mail("h2@example.example.com", subject="Quote"))
    [foreign] = await receive(db, foreign_inbox, mail("h3@example.example.com", subject="Secret"))

    def hinted(message_id: str, conversation_id: int) -> Inbound:
        inbound = mail(message_id, subject="no refs, another subject")
        return dataclasses.replace(inbound, conversation_hint=conversation_id)

    [kept] = await receive(db, inbox, hinted("h4@example.example.com", ours.conversation.id))
    assert kept.conversation.id == ours.conversation.id
    [other_account] = await receive(
        db, inbox, hinted("h5@example.example.com", foreign.conversation.id)
    )
    [other_inbox] = await receive(
        db, inbox, hinted("h6@example.example.com", sales.conversation.id)
    )
    opened = {other_account.conversation.id, other_inbox.conversation.id}
    assert not opened & {ours.conversation.id, sales.conversation.id, foreign.conversation.id}
    assert other_account.conversation.account_id == tenant.account_id
    assert other_account.conversation.inbox_id == inbox.id


async def test_the_subject_threads_only_recent_open_conversations_of_the_contact(
    db: Database, tenant: Tenant
) -> None:
    inbox = await make_email_inbox(db, tenant)
    clock = FrozenClock()
    [first] = await receive(
        db, inbox, mail("s1@example.example.com", subject="Order 5 is late"), clock=clock
    )
    clock.advance(timedelta(days=13))
    [same] = await receive(
        db,
        inbox,
        mail("s2@example.example.com", subject="RE: AW: [#77] Order 5 is late"),
        clock=clock,
    )
    assert same.conversation.id == first.conversation.id
    # Another customer with the same subject is another conversation.
    [stranger] = await receive(
        db, inbox, mail("s3@example.example.com", sender="eve@example.example.com"), clock=clock
    )
    assert stranger.conversation.id != first.conversation.id
    # More than 14 days after the last activity: a new conversation.
    clock.advance(timedelta(days=15))
    [late] = await receive(
        db, inbox, mail("s4@example.example.com", subject="Re: Order 5 is late"), clock=clock
    )
    assert late.conversation.id != first.conversation.id
    # A closed conversation is not continued, even by a reply naming its messages.
    await set_status(db, late.conversation.id, "closed")
    [after_close] = await receive(
        db,
        inbox,
        mail(
            "s5@example.example.com",
            subject="Re: Order 5 is late",
            in_reply_to="s4@example.example.com",
        ),
        clock=clock,
    )
    assert after_close.conversation.id not in (late.conversation.id, first.conversation.id)


async def test_a_fresh_mail_opens_a_new_conversation(db: Database, tenant: Tenant) -> None:
    inbox = await make_email_inbox(db, tenant)
    [first] = await receive(db, inbox, mail("f1@example.example.com", subject="Order 5 is late"))
    [fresh] = await receive(db, inbox, mail("f2@example.example.com", subject="Change my address"))
    # Same contact, open conversation, same inbox: still two tickets (unlike chat channels).
    assert fresh.conversation.contact_id == first.conversation.contact_id
    assert fresh.conversation.id != first.conversation.id
    assert fresh.conversation.subject == "Change my address"


async def test_a_mail_without_subject_or_refs_never_joins_by_subject(
    db: Database, tenant: Tenant
) -> None:
    inbox = await make_email_inbox(db, tenant)
    [first] = await receive(db, inbox, mail("e1@example.example.com", subject="Re:"))
    [second] = await receive(db, inbox, mail("e2@example.example.com", subject="Re:"))
    assert first.conversation.id != second.conversation.id


async def test_a_duplicate_delivery_is_stored_once(db: Database, tenant: Tenant) -> None:
    inbox = await make_email_inbox(db, tenant)
    raw = (PAYLOADS / "no_message_id.eml").read_bytes()
    [first] = await receive(db, inbox, to_inbound(raw))
    relayed = b"Received: from relay.example.com by mx.example.com; 29 Nov 2026 10:00 +0000\r\n"
    [again] = await receive(db, inbox, to_inbound(relayed + raw))
    assert first.created
    assert not again.created
    assert again.message.id == first.message.id
    async with db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(Message))
    assert count == 1


async def test_mails_of_one_batch_thread_to_each_other(db: Database, tenant: Tenant) -> None:
    inbox = await make_email_inbox(db, tenant)
    first, reply, subject_only, fresh = await receive(
        db,
        inbox,
        mail("b1@example.example.com", subject="Broken lamp"),
        mail(
            "b2@example.example.com", subject="More details", in_reply_to="b1@example.example.com"
        ),
        mail("b3@example.example.com", subject="Re: Broken lamp"),
        mail("b4@example.example.com", subject="Unrelated"),
    )
    assert reply.conversation.id == first.conversation.id
    assert subject_only.conversation.id == first.conversation.id
    assert fresh.conversation.id != first.conversation.id


def test_thread_subject_strips_prefixes_and_tags() -> None:
    assert thread_subject("RE: Fwd: AW: WG: SV: Antw: FW: [#42] Order  5") == "order 5"
    assert thread_subject("Re[2]: order 5") == "order 5"
    assert thread_subject("Regarding order 5") == "regarding order 5"
    assert thread_subject("Re: ") == ""
