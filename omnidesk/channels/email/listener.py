"""The built-in SMTP listener: providers forward the support address's mail here.

Each ``RCPT TO`` must name an inbox (its forwarding address, or the configured address of
exactly one inbox) or is answered 550; a mail larger than ``email.max_message_bytes`` gets
552. The mail is stored (committed, attachments included) before the 250 answer, so an
accepted mail is never lost; a temporary failure is a 451 and the sending server retries.
What cannot be parsed is refused with a 554 (the sender gets a bounce: nothing is dropped
silently). One listener per deployment: ``omnidesk serve`` runs it in the embedded set-up,
``omnidesk worker`` when ``OMNIDESK_EMAIL__EMBEDDED=false``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session

from omnidesk.channels.email.receiving import BadMail, EmailInbox, EmailReceiver
from omnidesk.kit.errors import OmnideskError, ServiceUnavailable

log = structlog.get_logger(__name__)

MAX_RECIPIENTS = 50


class _Handler:
    def __init__(self, receiver: EmailReceiver) -> None:
        self.receiver = receiver

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            inbox = await self.receiver.find_inbox(address)
        except Exception:
            log.exception("email_rcpt_lookup_failed", address=address)
            return "451 4.3.0 Temporary failure, try again later"
        if inbox is None:
            log.info("email_rcpt_unknown", address=address, peer=_peer(session))
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if not raw:
            return "554 5.6.0 Empty message"
        try:
            inboxes = await self._inboxes(envelope.rcpt_tos)
            if not inboxes:  # the inboxes went away since RCPT
                return "550 5.1.1 No such mailbox here"
            inbound = self.receiver.inbound(raw, envelope.rcpt_tos)
            for inbox in inboxes:
                await self.receiver.store(inbox, inbound)
        except BadMail as exc:
            log.warning("email_refused", reason=str(exc), peer=_peer(session), size=len(raw))
            return f"554 5.6.0 {exc}"
        except ServiceUnavailable:
            return "451 4.3.0 The server is stopping, try again later"
        except OmnideskError as exc:
            log.warning("email_refused", reason=exc.message, field=exc.field, peer=_peer(session))
            return f"550 5.6.0 Message refused: {_one_line(exc.message)}"
        except Exception:
            log.exception("email_store_failed", peer=_peer(session), size=len(raw))
            return "451 4.3.0 Temporary failure, try again later"
        return "250 2.0.0 OK: stored"

    async def handle_exception(self, error: Exception) -> str:
        log.error("email_smtp_session_error", error=repr(error)[:300])
        return "451 4.3.0 Temporary failure, try again later"

    async def _inboxes(self, recipients: list[str]) -> list[EmailInbox]:
        found: dict[int, EmailInbox] = {}
        for address in recipients:
            inbox = await self.receiver.find_inbox(address)
            if inbox is not None:
                found.setdefault(inbox.id, inbox)
        return list(found.values())


def _peer(session: Session) -> Any:
    return session.peer


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


class SmtpListener:
    """An aiosmtpd server on the running event loop (the inbound writer's loop)."""

    def __init__(
        self,
        receiver: EmailReceiver,
        *,
        host: str,
        port: int,
        max_message_bytes: int,
        hostname: str,
    ) -> None:
        self.handler = _Handler(receiver)
        self.host = host
        self.port = port
        self.max_message_bytes = max_message_bytes
        self.hostname = hostname
        self._server: asyncio.Server | None = None
        self._sessions: set[SMTP] = set()

    def _protocol(self) -> SMTP:
        protocol = _TrackedSMTP(
            self.handler,
            data_size_limit=self.max_message_bytes,
            enable_SMTPUTF8=True,
            hostname=self.hostname,
            ident="omnidesk",
            loop=asyncio.get_running_loop(),
        )
        protocol.sessions = self._sessions
        return protocol

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        # No SO_REUSEPORT: a second process (or another installation) on the same port
        # fails loudly instead of silently taking half of the mail.
        self._server = await loop.create_server(self._protocol, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("email_listener_started", host=self.host, port=self.port)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        # A connection accepted just before the close reaches its protocol a turn later,
        # so sessions are dropped until none is left: a session left open would outlive
        # the loop that serves it.
        for _ in range(5):
            for protocol in list(self._sessions):
                transport = protocol.transport
                if isinstance(transport, asyncio.WriteTransport):
                    transport.abort()
                elif transport is not None:
                    transport.close()
            # Let the dropped sessions' handlers see their connection go.
            for _ in range(3):
                await asyncio.sleep(0)
            if not self._sessions:
                break
        await self._server.wait_closed()
        self._server = None
        log.info("email_listener_stopped")


class _TrackedSMTP(SMTP):
    sessions: set[SMTP]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.sessions.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self.sessions.discard(self)
        super().connection_lost(error)
