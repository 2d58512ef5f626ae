"""IMAP polling against a real, private dovecot: mails appended with IMAP APPEND arrive."""

from __future__ import annotations

import asyncio
import imaplib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from omnidesk.app import create_app
from omnidesk.channels.email.models import ImapCursor
from omnidesk.channels.email.transport import EmailTransport
from omnidesk.conversations.models import Message
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.settings import Settings
from tests.channels.email.conftest import mail, make_email_inbox
from tests.channels.email.dovecot import PASSWORD, USER, Dovecot
from tests.conftest import Tenant

pytestmark = pytest.mark.slow


def _imap(server: Dovecot) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", server.port, timeout=10)
    client.login(USER, PASSWORD)
    return client


async def append(server: Dovecot, *mails: bytes, mailbox: str = "INBOX") -> None:
    def run() -> None:
        client = _imap(server)
        try:
            for raw in mails:
                status, _ = client.append(mailbox, None, None, raw)
                assert status == "OK"
        finally:
            client.logout()

    await asyncio.to_thread(run)


async def recreate(server: Dovecot, mailbox: str) -> None:
    """Delete and create the mailbox again: the server gives it a new UIDVALIDITY."""

    def run() -> None:
        client = _imap(server)
        try:
            client.delete(mailbox)
            status, _ = client.create(mailbox)
            assert status == "OK"
        finally:
            client.logout()

    await asyncio.to_thread(run)


def customer_mail(n: int) -> bytes:
    return mail(
        message_id=f"<imap-{n}@customer.example.com>",
        subject=f"Question {n}",
        body=f"Question number {n}",
    )


async def _ids(db: Database, inbox_id: int) -> list[str]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(Message.channel_message_id)
            .where(Message.inbox_id == inbox_id)
            .order_by(Message.id)
        )
        return [r for r in rows if r is not None]


async def wait_for(db: Database, inbox_id: int, count: int, timeout_s: float = 15) -> list[str]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        found = await _ids(db, inbox_id)
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.05)


async def _cursor(db: Database, inbox_id: int) -> ImapCursor | None:
    async with db.sessionmaker() as session:
        return await session.scalar(select(ImapCursor).where(ImapCursor.inbox_id == inbox_id))


async def cursor_at(db: Database, inbox_id: int, uid: int, timeout_s: float = 15) -> ImapCursor:
    """The cursor once it reached ``uid`` (a message is stored before its UID is recorded,
    so the mail shows before the cursor moves), or as it is when time is up."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        cursor = await _cursor(db, inbox_id)
        if cursor is not None and cursor.last_uid >= uid:
            return cursor
        if asyncio.get_running_loop().time() > deadline:
            assert cursor is not None, "no cursor was recorded"
            return cursor
        await asyncio.sleep(0.05)


async def _imap_inbox(
    client: httpx.AsyncClient, tenant: Tenant, server: Dovecot, **config: Any
) -> dict[str, Any]:
    password = config.pop("password", PASSWORD)
    settings = {
        "imap_host": "127.0.0.1",
        "imap_port": server.port,
        "imap_tls": False,
        "imap_username": USER,
        # A server that cannot push would be polled this rarely: new mail that arrives
        # within the test's seconds comes through IDLE.
        "imap_poll_interval_s": 3600,
        **config,
    }
    return await make_email_inbox(client, tenant, secrets={"imap_password": password}, **settings)


def _transport(app: FastAPI) -> EmailTransport:
    transport: EmailTransport = app.state.container.email
    return transport


def _expected(*numbers: int) -> list[str]:
    return [f"imap-{n}@customer.example.com" for n in numbers]


async def test_mail_arrives_and_a_restart_neither_repeats_nor_misses(
    email_app: FastAPI,
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    dovecot: Dovecot,
) -> None:
    await append(dovecot, customer_mail(1), customer_mail(2))
    inbox = await _imap_inbox(email_client, tenant, dovecot)
    transport = _transport(email_app)

    await transport.refresh()
    assert await wait_for(db, inbox["id"], 2) == _expected(1, 2)
    cursor = await cursor_at(db, inbox["id"], 2)
    assert (cursor.mailbox, cursor.last_uid) == ("INBOX", 2)

    # While the poller waits in IDLE, a new mail is announced and taken at once.
    await append(dovecot, customer_mail(3))
    assert await wait_for(db, inbox["id"], 3) == _expected(1, 2, 3)

    # Stopped (a restart); mail arrives meanwhile; started again: only the new one.
    await transport.stop_pollers()
    await append(dovecot, customer_mail(4))
    await transport.refresh()
    assert await wait_for(db, inbox["id"], 4) == _expected(1, 2, 3, 4)

    # A crash after storing but before recording the UID: fetched again, stored once.
    await transport.stop_pollers()
    async with db.transaction() as session:
        await session.execute(
            update(ImapCursor).where(ImapCursor.inbox_id == inbox["id"]).values(last_uid=2)
        )
    await transport.refresh()
    [(_, poller)] = transport.pollers.values()
    await asyncio.wait_for(poller.synced.wait(), 15)
    assert await _ids(db, inbox["id"]) == _expected(1, 2, 3, 4)
    cursor = await _cursor(db, inbox["id"])
    assert cursor is not None
    assert cursor.last_uid == 4
    # The mails stay unread in the mailbox (BODY.PEEK).
    assert (await _unseen(dovecot)) == 4


async def _unseen(server: Dovecot) -> int:
    def run() -> int:
        client = _imap(server)
        try:
            client.select("INBOX", readonly=True)
            _, found = client.search(None, "UNSEEN")
            return len(found[0].split())
        finally:
            client.logout()

    return await asyncio.to_thread(run)


async def test_a_new_uidvalidity_starts_over_without_duplicates(
    email_app: FastAPI,
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    dovecot: Dovecot,
) -> None:
    await recreate(dovecot, "Support")
    await append(dovecot, customer_mail(1), customer_mail(2), mailbox="Support")
    inbox = await _imap_inbox(email_client, tenant, dovecot, imap_mailbox="Support")
    transport = _transport(email_app)
    await transport.refresh()
    assert await wait_for(db, inbox["id"], 2) == _expected(1, 2)
    before = await cursor_at(db, inbox["id"], 2)

    await transport.stop_pollers()
    # The mailbox is recreated: its UIDs start again at 1 and mean other messages now.
    await recreate(dovecot, "Support")
    await append(dovecot, customer_mail(2), customer_mail(5), customer_mail(1), mailbox="Support")
    await transport.refresh()
    assert await wait_for(db, inbox["id"], 3) == _expected(1, 2, 5)
    [(_, poller)] = transport.pollers.values()
    await asyncio.wait_for(poller.synced.wait(), 15)
    after = await _cursor(db, inbox["id"])
    assert after is not None
    assert after.uid_validity != before.uid_validity
    assert after.last_uid == 3
    assert await _ids(db, inbox["id"]) == _expected(1, 2, 5)


async def test_a_refused_login_is_retried_and_a_fixed_password_takes_over(
    email_app: FastAPI,
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    dovecot: Dovecot,
) -> None:
    await append(dovecot, customer_mail(1))
    inbox = await _imap_inbox(email_client, tenant, dovecot, password="wrong")
    transport = _transport(email_app)
    await transport.refresh()
    [(_, poller)] = transport.pollers.values()
    await asyncio.sleep(0.5)
    assert poller.passes == 0
    assert poller._task is not None
    assert not poller._task.done()  # still trying, nothing crashed
    assert await _ids(db, inbox["id"]) == []

    response = await email_client.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        json={"secrets": {"imap_password": PASSWORD}},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    await transport.refresh()  # the account changed: a new poller
    assert await wait_for(db, inbox["id"], 1) == _expected(1)
    # An inbox that loses its IMAP server loses its poller.
    config = {**inbox["config"], "imap_host": None}
    response = await email_client.patch(
        f"/api/v1/inboxes/{inbox['id']}", json={"config": config}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    await transport.refresh()
    assert transport.pollers == {}


@pytest.fixture
async def polling_app(email_settings: Settings, email_clock: FrozenClock) -> AsyncIterator[FastAPI]:
    email = email_settings.email.model_copy(update={"imap_enabled": True, "imap_refresh_s": 0.2})
    settings = email_settings.model_copy(update={"email": email})
    application = create_app(settings, clock=email_clock, run_jobs=False)
    async with application.router.lifespan_context(application):
        yield application


async def test_the_app_polls_new_imap_inboxes_by_itself(
    polling_app: FastAPI, tenant: Tenant, dovecot: Dovecot
) -> None:
    db: Database = polling_app.state.container.db
    transport = httpx.ASGITransport(app=polling_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await append(dovecot, customer_mail(7))
        inbox = await _imap_inbox(client, tenant, dovecot)
        assert await wait_for(db, inbox["id"], 1) == _expected(7)


async def test_imaps_checks_the_servers_certificate(
    email_app: FastAPI,
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    dovecot: Dovecot,
) -> None:
    await append(dovecot, customer_mail(8))
    inbox = await _imap_inbox(
        email_client, tenant, dovecot, imap_tls=True, imap_port=dovecot.tls_port
    )
    transport = _transport(email_app)

    # The system's certificate authorities do not know the test server's: refused, retried.
    await transport.refresh()
    [(_, poller)] = transport.pollers.values()
    await asyncio.sleep(0.5)
    assert poller.passes == 0
    assert await _ids(db, inbox["id"]) == []

    await transport.stop_pollers()
    assert dovecot.certificate is not None
    transport.imap_ssl_context = dovecot.certificate.client_context()
    await transport.refresh()
    assert await wait_for(db, inbox["id"], 1) == _expected(8)


async def test_a_server_without_idle_is_polled_at_the_inbox_interval(
    email_app: FastAPI,
    email_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    dovecot_without_idle: Dovecot,
) -> None:
    server = dovecot_without_idle
    inbox = await _imap_inbox(email_client, tenant, server, imap_poll_interval_s=1)
    transport = _transport(email_app)
    await transport.refresh()
    [(_, poller)] = transport.pollers.values()
    await asyncio.wait_for(poller.synced.wait(), 15)
    passes = poller.passes
    await append(server, customer_mail(9))
    assert await wait_for(db, inbox["id"], 1) == _expected(9)
    # Found by a later poll (its pass ends after the mail is stored).
    await cursor_at(db, inbox["id"], 1)
    deadline = asyncio.get_running_loop().time() + 15
    while poller.passes <= passes and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    assert poller.passes > passes
