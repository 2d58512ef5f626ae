"""The email transport's fixtures: the app with its SMTP listener on a free loopback port,
an SMTP sink catching what it sends, and a private dovecot to poll.

Fixture names start with ``email_``, ``smtp_`` or ``dovecot`` so that they never shadow the
suite's own (``settings``, ``app``…), which the parsing tests of this folder use as they are.
"""

from __future__ import annotations

import asyncio
import shutil
import smtplib
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from fastapi import FastAPI

from omnidesk.app import create_app
from omnidesk.jobs.runner import JobRunner
from omnidesk.kit.clock import FrozenClock
from omnidesk.settings import EmailSettings, JobSettings, Settings
from tests.channels.api.receiver import free_port
from tests.channels.email import dovecot as dovecot_server
from tests.channels.email.tls import Certificate
from tests.conftest import Tenant, require_service

INBOUND_DOMAIN = "in.omnidesk.example.net"
MAX_MESSAGE_BYTES = 64 * 1024


@pytest.fixture
def email_clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def email_settings(settings: Settings) -> Settings:
    jobs = JobSettings(max_attempts=4, backoff_base_s=10, backoff_max_s=600, lease_s=60)
    email = EmailSettings(
        smtp_port=free_port(),
        inbound_domain=INBOUND_DOMAIN,
        max_message_bytes=MAX_MESSAGE_BYTES,
        imap_enabled=False,
        timeout_s=5.0,
    )
    return settings.model_copy(update={"jobs": jobs, "email": email})


@pytest.fixture
async def email_app(email_settings: Settings, email_clock: FrozenClock) -> AsyncIterator[FastAPI]:
    application = create_app(email_settings, clock=email_clock, run_jobs=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def email_client(email_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=email_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def email_runner(email_app: FastAPI) -> JobRunner:
    jobs: JobRunner = email_app.state.container.jobs
    return jobs


@pytest.fixture
def smtp_port(email_settings: Settings) -> int:
    port = email_settings.email.smtp_port
    assert port
    return port


# An SMTP sink: what omnidesk sends ------------------------------------------------------


@dataclass
class Caught:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    def message(self) -> EmailMessage:
        """The mail parsed as a mail client would."""
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpSink:
    """Answers each DATA with the next of ``answers`` (then 250) and records every mail."""

    port: int = 0
    answers: list[str] = field(default_factory=list)
    mails: list[Caught] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _sessions: list[SMTP] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        self.mails.append(Caught(str(envelope.mail_from), list(envelope.rcpt_tos), data))
        return self.answers.pop(0) if self.answers else "250 2.0.0 OK: queued"

    async def start(self) -> SmtpSink:
        loop = asyncio.get_running_loop()

        def session() -> SMTP:
            protocol = SMTP(self, hostname="sink.test", loop=loop)
            self._sessions.append(protocol)
            return protocol

        self._server = await loop.create_server(session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await close_sessions(self._sessions)


async def close_sessions(sessions: list[SMTP]) -> None:
    """Drop a sink's client connections at once. Closing the server leaves them open (a
    client slow to QUIT on a busy machine), and after STARTTLS a session holds two
    transports: a TLS close waits for the peer, and a plain one left behind would be
    collected, warning, during a later test."""
    dropped: set[int] = set()
    for _ in range(5):  # a connection accepted while closing reaches the list a turn later
        for session in sessions:
            if id(session) in dropped:
                continue
            dropped.add(id(session))
            for transport in (session.transport, getattr(session, "_original_transport", None)):
                if transport is not None:
                    transport.abort()
        for _ in range(3):  # connection_lost runs on the next turns of the loop
            await asyncio.sleep(0)
        if len(dropped) == len(sessions):
            break


async def tls_sink(
    certificate: Certificate,
    *,
    implicit: bool,
    logins: list[tuple[bytes, bytes]],
    sessions: list[SMTP],
) -> tuple[SmtpSink, asyncio.Server]:
    """A sink that wants TLS (STARTTLS, or implicit) and a login before it takes mail."""
    sink = SmtpSink()
    server_context = certificate.server_context()

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"smtp-pass-1", handled=False)

    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        with warnings.catch_warnings():
            # Implicit TLS is TLS, but aiosmtpd only counts STARTTLS as such and warns.
            warnings.simplefilter("ignore", UserWarning)
            made = SMTP(
                sink,
                hostname="sink.test",
                tls_context=None if implicit else server_context,
                require_starttls=not implicit,
                authenticator=authenticate,
                auth_required=True,
                auth_require_tls=not implicit,
                loop=loop,
            )
        sessions.append(made)
        return made

    server = await loop.create_server(
        protocol, "127.0.0.1", 0, ssl=server_context if implicit else None
    )
    sink.port = server.sockets[0].getsockname()[1]
    return sink, server


@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    sink = await SmtpSink().start()
    yield sink
    await sink.stop()


# A private dovecot ----------------------------------------------------------------------


def _dovecot(*, idle: bool) -> Iterator[dovecot_server.Dovecot]:
    require_service(
        dovecot_server.available(), "dovecot is not installed (apt-get install dovecot-imapd)"
    )
    # Not under pytest's tmp dir: dovecot's own users must be able to reach the maildirs.
    root = Path(tempfile.mkdtemp(prefix="omnidesk-dovecot-"))
    server = dovecot_server.Dovecot(root, idle=idle).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def dovecot() -> Iterator[dovecot_server.Dovecot]:
    yield from _dovecot(idle=True)


@pytest.fixture
def dovecot_without_idle() -> Iterator[dovecot_server.Dovecot]:
    yield from _dovecot(idle=False)


# Helpers --------------------------------------------------------------------------------


async def make_email_inbox(
    client: httpx.AsyncClient, tenant: Tenant, **config: Any
) -> dict[str, Any]:
    secrets = config.pop("secrets", {})
    body = {"address": "support@acme.example.com", "display_name": "Acme Support", **config}
    response = await client.post(
        "/api/v1/inboxes",
        json={"name": "Support", "channel_type": "email", "config": body, "secrets": secrets},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    inbox: dict[str, Any] = response.json()
    return inbox


def mail(
    *,
    sender: str = "Carla Customer <carla@customer.example.com>",
    to: str = "support@acme.example.com",
    subject: str = "Order 1234",
    message_id: str = "<m1@customer.example.com>",
    body: str = "Where is my parcel?",
    extra: str = "",
) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
        f"Date: Mon, 05 Jan 2026 09:00:00 +0000\r\n{extra}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


async def smtp_send(port: int, sender: str, recipients: list[str], data: bytes) -> Any:
    """Send with the standard library's client, in a thread (the listener shares our loop)."""

    def send() -> Any:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            return client.sendmail(sender, recipients, data)

    return await asyncio.to_thread(send)
