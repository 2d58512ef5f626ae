"""Replies leave by SMTP through the outbox, caught by an SMTP sink on loopback."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP
from sqlalchemy import select

from omnidesk.channels.base import AdapterContext, DeliveryFailed, Outbound
from omnidesk.channels.email import addressing, ids
from omnidesk.channels.email.adapter import EmailChannel
from omnidesk.conversations import service as conversations
from omnidesk.conversations.models import Conversation, Message
from omnidesk.jobs.models import Job
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.settings import Settings
from tests.channels.api.receiver import free_port
from tests.channels.email.conftest import (
    SmtpSink,
    close_sessions,
    mail,
    make_email_inbox,
    smtp_send,
    tls_sink,
)
from tests.channels.email.tls import self_signed
from tests.conftest import Tenant

SUPPORT = "support@acme.example.com"


async def _inbox(client: httpx.AsyncClient, tenant: Tenant, port: int) -> dict[str, Any]:
    return await make_email_inbox(
        client, tenant, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none"
    )


async def _customer_writes(
    smtp_port: int, inbox: dict[str, Any], db: Database, **parts: Any
) -> Conversation:
    await smtp_send(
        smtp_port, "carla@customer.example.com", [inbox["forwarding_address"]], mail(**parts)
    )
    async with db.sessionmaker() as session:
        message = await session.scalar(
            select(Message)
            .where(Message.inbox_id == inbox["id"], Message.direction == "inbound")
            .order_by(Message.id.desc())
        )
        assert message is not None
        conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    return conversation


async def _reply(
    client: httpx.AsyncClient, tenant: Tenant, conversation_id: int, text: str
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": text},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    sent: dict[str, Any] = response.json()
    return sent


async def _stored(db: Database, message_id: int) -> tuple[Message, Job]:
    async with db.sessionmaker() as session:
        message = await session.get(Message, message_id)
        job = await session.scalar(
            select(Job).where(Job.idempotency_key == f"message:{message_id}")
        )
    assert message is not None
    assert job is not None
    return message, job


async def _a_reply_went_out(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    smtp_port: int,
    sink: SmtpSink,
    runner: JobRunner,
) -> tuple[dict[str, Any], Conversation, EmailMessage]:
    """A customer mailed about a broken kettle and an agent's reply was sent: the inbox,
    the conversation and the reply as the customer's mail client got it."""
    inbox = await _inbox(client, tenant, sink.port)
    conversation = await _customer_writes(smtp_port, inbox, db, subject="Broken kettle")
    await _reply(client, tenant, conversation.id, "Send us a photo?")
    assert await runner.run_once() == 1
    return inbox, conversation, sink.mails[0].message()


async def test_a_reply_is_threaded_addressed_and_recorded(
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    smtp_port: int,
    smtp_sink: SmtpSink,
    email_runner: JobRunner,
    email_settings: Settings,
) -> None:
    inbox = await _inbox(email_client, tenant, smtp_sink.port)
    conversation = await _customer_writes(
        smtp_port,
        inbox,
        db,
        subject="RE: Re: Order 1234",
        message_id="<m2@customer.example.com>",
        to=f"Acme <{SUPPORT}>, Dan <dan@customer.example.com>",
        extra="Cc: Eve <eve@partner.example.com>, support+c9.abcdef12@acme.example.com, "
        f"{inbox['forwarding_address']}, Carla <CARLA@customer.example.com>\r\n"
        "In-Reply-To: <m1@customer.example.com>\r\n"
        "References: <root@customer.example.com> <m1@customer.example.com>\r\n",
    )
    sent = await _reply(email_client, tenant, conversation.id, "It left today.\n\nAlex")

    assert await email_runner.run_once() == 1

    [caught] = smtp_sink.mails
    reply = caught.message()
    message, job = await _stored(db, sent["id"])
    assert (message.delivery_status, job.status) == ("sent", "done")
    assert reply["Message-ID"] == f"<{message.channel_message_id}>"
    assert message.channel_message_id is not None
    assert message.channel_message_id.endswith("@acme.example.com")
    assert reply["In-Reply-To"] == "<m2@customer.example.com>"
    assert reply["References"].split() == [
        "<root@customer.example.com>",
        "<m1@customer.example.com>",
        "<m2@customer.example.com>",
    ]
    assert reply["Subject"] == "Re: Order 1234"
    # Reply-to-all: the customer, and the others of their mail; never us, nor them twice.
    assert [a for _, a in getaddresses([reply["To"]])] == ["carla@customer.example.com"]
    assert [a for _, a in getaddresses([reply["Cc"]])] == [
        "dan@customer.example.com",
        "eve@partner.example.com",
    ]
    assert caught.mail_from == SUPPORT
    assert sorted(caught.rcpt_tos) == [
        "carla@customer.example.com",
        "dan@customer.example.com",
        "eve@partner.example.com",
    ]
    (name, sender), *_ = getaddresses([reply["From"]])
    assert sender == SUPPORT
    assert "Acme Support" in name
    # The Reply-To's token names this conversation, signed with the installation's key.
    [(_, reply_to)] = getaddresses([reply["Reply-To"]])
    local, domain = reply_to.split("@")
    assert domain == "acme.example.com"
    assert local.startswith("support+")
    key = addressing.email_key(email_settings)
    assert ids.read_conversation_token(local, key) == conversation.id
    assert reply["Auto-Submitted"] is None  # an agent wrote it
    # Plain text with an HTML alternative.
    assert reply.get_content_type() == "multipart/alternative"
    text = reply.get_body(preferencelist=("plain",))
    html = reply.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().replace("\r\n", "\n").strip() == "It left today.\n\nAlex"
    assert "<p>It left today.</p>" in html.get_content()


async def test_a_temporary_refusal_is_retried_with_the_same_message_id(
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    smtp_port: int,
    smtp_sink: SmtpSink,
    email_runner: JobRunner,
    email_clock: FrozenClock,
) -> None:
    inbox = await _inbox(email_client, tenant, smtp_sink.port)
    conversation = await _customer_writes(smtp_port, inbox, db)
    sent = await _reply(email_client, tenant, conversation.id, "On its way")
    smtp_sink.answers = ["451 4.3.0 Greylisted, try again later"]

    assert await email_runner.run_once() == 1
    message, job = await _stored(db, sent["id"])
    assert (message.delivery_status, job.status, job.attempts) == ("queued", "pending", 1)
    assert job.last_error is not None
    assert "451" in job.last_error

    email_clock.advance(13)
    assert await email_runner.run_once() == 1
    message, job = await _stored(db, sent["id"])
    assert (message.delivery_status, job.status) == ("sent", "done")
    first, second = (m.message() for m in smtp_sink.mails)
    # One message for the recipient's client, however many attempts it took.
    assert first["Message-ID"] == second["Message-ID"] == f"<{message.channel_message_id}>"
    assert first["Date"] == second["Date"]
    # Done is done: nothing more goes out.
    email_clock.advance(3600)
    assert await email_runner.run_once() == 0
    assert len(smtp_sink.mails) == 2


async def test_a_permanent_refusal_fails_the_message_at_once(
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    smtp_port: int,
    smtp_sink: SmtpSink,
    email_runner: JobRunner,
) -> None:
    inbox = await _inbox(email_client, tenant, smtp_sink.port)
    conversation = await _customer_writes(smtp_port, inbox, db)
    sent = await _reply(email_client, tenant, conversation.id, "On its way")
    smtp_sink.answers = ["554 5.7.1 Rejected by policy"]

    assert await email_runner.run_once() == 1
    message, job = await _stored(db, sent["id"])
    assert (message.delivery_status, job.status) == ("failed", "dead")
    assert message.delivery_error is not None
    assert "554" in message.delivery_error


async def test_an_unreachable_server_is_retried(
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    smtp_port: int,
    email_runner: JobRunner,
    email_clock: FrozenClock,
) -> None:
    inbox = await _inbox(email_client, tenant, free_port())  # nobody listens there
    conversation = await _customer_writes(smtp_port, inbox, db)
    sent = await _reply(email_client, tenant, conversation.id, "On its way")

    assert await email_runner.run_once() == 1
    message, job = await _stored(db, sent["id"])
    assert (message.delivery_status, job.status, job.attempts) == ("queued", "pending", 1)


async def test_an_inbox_without_smtp_server_fails_the_reply(
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    smtp_port: int,
    email_runner: JobRunner,
) -> None:
    inbox = await make_email_inbox(email_client, tenant)
    conversation = await _customer_writes(smtp_port, inbox, db)
    sent = await _reply(email_client, tenant, conversation.id, "On its way")
    assert await email_runner.run_once() == 1
    message, job = await _stored(db, sent["id"])
    assert (message.delivery_status, job.status) == ("failed", "dead")
    assert "no SMTP server" in (message.delivery_error or "")


async def test_automatic_answers_say_so_and_never_answer_automatic_mail(
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    smtp_port: int,
    smtp_sink: SmtpSink,
    email_runner: JobRunner,
    email_clock: FrozenClock,
) -> None:
    inbox = await _inbox(email_client, tenant, smtp_sink.port)
    conversation = await _customer_writes(smtp_port, inbox, db)
    async with db.transaction() as session:
        found = await session.get(Conversation, conversation.id)
        assert found is not None
        automatic = await conversations.post_system_message(
            session, email_clock, found, "We are closed; we answer tomorrow."
        )
    assert automatic is not None
    assert await email_runner.run_once() == 1
    [caught] = smtp_sink.mails
    reply = caught.message()
    assert reply["Auto-Submitted"] == "auto-replied"
    (name, _), *_ = getaddresses([reply["From"]])
    assert name == "Acme Support"  # the team, not an agent

    # An out-of-office comes back: the automatic answer to it is not sent.
    await smtp_send(
        smtp_port,
        "carla@customer.example.com",
        [inbox["forwarding_address"]],
        mail(
            to=str(reply["Reply-To"]),
            message_id="<ooo@customer.example.com>",
            subject=f"Out of office: {reply['Subject']}",
            extra=f"Auto-Submitted: auto-replied\r\nIn-Reply-To: {reply['Message-ID']}\r\n",
        ),
    )
    async with db.transaction() as session:
        last = await session.scalar(
            select(Message).where(Message.channel_message_id == "ooo@customer.example.com")
        )
        assert last is not None
        assert last.conversation_id == conversation.id
        assert last.meta.get("auto")  # the parser flags it
        found = await session.get(Conversation, conversation.id)
        assert found is not None
        second = await conversations.post_system_message(session, email_clock, found, "Closed.")
    assert second is not None
    assert await email_runner.run_once() == 1
    message, job = await _stored(db, second.id)
    assert (message.delivery_status, job.status) == ("failed", "dead")
    assert "automatic" in (message.delivery_error or "")
    assert len(smtp_sink.mails) == 1


async def test_the_customers_answer_to_a_reply_threads_into_its_conversation(
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    smtp_port: int,
    smtp_sink: SmtpSink,
    email_runner: JobRunner,
) -> None:
    inbox, conversation, reply = await _a_reply_went_out(
        email_client, tenant, db, smtp_port, smtp_sink, email_runner
    )

    # The customer answers from their client: to the Reply-To, referring to our reply.
    await smtp_send(
        smtp_port,
        "carla@customer.example.com",
        [inbox["forwarding_address"]],
        mail(
            to=str(reply["Reply-To"]),
            subject=f"Re: {reply['Subject']}",
            message_id="<answer@customer.example.com>",
            body="Here it is.",
            extra=f"In-Reply-To: {reply['Message-ID']}\r\n"
            f"References: {reply['References']} {reply['Message-ID']}\r\n",
        ),
    )
    async with db.sessionmaker() as session:
        answer = await session.scalar(
            select(Message).where(Message.channel_message_id == "answer@customer.example.com")
        )
        ours = await session.scalar(
            select(Message).where(
                Message.channel_message_id == ids.normalise_message_id(reply["Message-ID"])
            )
        )
    assert answer is not None
    assert ours is not None
    assert ours.conversation_id == conversation.id
    assert answer.conversation_id == conversation.id
    assert ids.normalise_message_id(str(answer.meta["in_reply_to"])) == ours.channel_message_id


async def test_sending_with_starttls_or_tls_and_a_login(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path / "tls")
    for security in ("starttls", "tls"):
        logins: list[tuple[bytes, bytes]] = []
        sessions: list[SMTP] = []
        sink, server = await tls_sink(
            certificate, implicit=security == "tls", logins=logins, sessions=sessions
        )
        try:
            context = AdapterContext(
                inbox_id=1,
                account_id=1,
                config={
                    "address": SUPPORT,
                    "smtp_host": "127.0.0.1",
                    "smtp_port": sink.port,
                    "smtp_security": security,
                    "smtp_username": SUPPORT,
                },
                secrets={"smtp_password": "smtp-pass-1"},
                public_url="http://testserver",
                timeout_s=5,
                channel_key="k" * 64,
            )
            outbound = Outbound(
                message_id=1,
                conversation_id=7,
                idempotency_key="message:1",
                recipient_kind="email",
                recipient="carla@customer.example.com",
                body="Over TLS",
                meta={"sender_type": "user"},
            )
            # The system's authorities do not know this server: no mail, and retried.
            with pytest.raises(DeliveryFailed) as failed:
                await EmailChannel(context).send(outbound)
            assert not failed.value.permanent
            channel = EmailChannel(context, tls_context=certificate.client_context())
            delivery = await channel.send(outbound)
            [caught] = sink.mails
            assert caught.message()["Message-ID"] == f"<{delivery.channel_message_id}>"
            assert logins == [(SUPPORT.encode(), b"smtp-pass-1")]

            # A wrong password is a 535: final.
            wrong = context.model_copy(update={"secrets": {"smtp_password": "nope"}})
            with pytest.raises(DeliveryFailed) as failed:
                await EmailChannel(wrong, tls_context=certificate.client_context()).send(outbound)
            assert failed.value.permanent
            assert "535" in str(failed.value)
        finally:
            server.close()
            await close_sessions(sessions)
            await server.wait_closed()


async def test_an_agents_attachments_go_with_the_reply(
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    smtp_port: int,
    smtp_sink: SmtpSink,
    email_runner: JobRunner,
) -> None:
    inbox = await _inbox(email_client, tenant, smtp_sink.port)
    conversation = await _customer_writes(smtp_port, inbox, db)
    uploaded = []
    for name, data, kind in (
        ("invoice.pdf", b"%PDF-1.4 fake", "application/pdf"),
        ("notes.txt", "caf\u00e9\n".encode(), "text/plain"),
    ):
        response = await email_client.post(
            "/api/v1/attachments", files={"file": (name, data, kind)}, headers=tenant.headers
        )
        assert response.status_code == 201, response.text
        uploaded.append(response.json()["id"])
    response = await email_client.post(
        f"/api/v1/conversations/{conversation.id}/messages",
        json={"body": "Your invoice", "attachment_ids": uploaded},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text

    assert await email_runner.run_once() == 1
    reply = smtp_sink.mails[0].message()
    assert reply.get_content_type() == "multipart/mixed"
    body = reply.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Your invoice" in body.get_content()
    files = {
        part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
        for part in reply.iter_attachments()
    }
    assert files == {
        "invoice.pdf": ("application/pdf", b"%PDF-1.4 fake"),
        "notes.txt": ("text/plain", "caf\u00e9\n".encode()),
    }


async def test_an_answer_without_references_threads_by_the_reply_to_token(
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    smtp_port: int,
    smtp_sink: SmtpSink,
    email_runner: JobRunner,
) -> None:
    inbox, conversation, reply = await _a_reply_went_out(
        email_client, tenant, db, smtp_port, smtp_sink, email_runner
    )

    # A client (or a forwarder) that lost In-Reply-To and References, and a new subject.
    await smtp_send(
        smtp_port,
        "carla@customer.example.com",
        [inbox["forwarding_address"]],
        mail(
            to=str(reply["Reply-To"]),
            subject="photo",
            message_id="<lost-refs@customer.example.com>",
        ),
    )
    # And a new mail from the same customer to the plain address: a new conversation.
    await smtp_send(
        smtp_port,
        "carla@customer.example.com",
        [inbox["forwarding_address"]],
        mail(subject="Another question", message_id="<new@customer.example.com>"),
    )
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(Message).where(
                Message.channel_message_id.in_(
                    ["lost-refs@customer.example.com", "new@customer.example.com"]
                )
            )
        )
        found = {m.channel_message_id: m.conversation_id for m in rows}
    assert found["lost-refs@customer.example.com"] == conversation.id
    assert found["new@customer.example.com"] != conversation.id
