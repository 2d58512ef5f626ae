"""The email channel's running parts: the SMTP listener and one IMAP poller per inbox.

Started by ``omnidesk serve`` (``email.embedded``, the default) or by ``omnidesk worker``
(``OMNIDESK_EMAIL__EMBEDDED=false``): one place per deployment. Several processes may run
it anyway: the first to bind the listener's port takes the forwarded mail (the others log
that the port is taken and serve without it), and the pollers run only in the process
holding the ``email-imap`` lease, so one mailbox is never read twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

import structlog
from sqlalchemy import select

from omnidesk.channels.email.imap import ImapAccount, ImapPoller, account_of
from omnidesk.channels.email.listener import SmtpListener
from omnidesk.channels.email.receiving import CHANNEL, EmailInbox, EmailReceiver, email_inbox
from omnidesk.channels.registry import decrypt_secrets
from omnidesk.conversations.inbound import InboundWriter
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.clock import Clock
from omnidesk.kit.db import Database
from omnidesk.kit.lease import Lease, lease_for
from omnidesk.kit.security import SecretBox
from omnidesk.settings import Settings

log = structlog.get_logger(__name__)

LEASE_NAME = "email-imap"


class EmailTransport:
    def __init__(
        self,
        db: Database,
        writer: InboundWriter,
        settings: Settings,
        clock: Clock,
        secret_box: SecretBox,
        *,
        imap_ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.secret_box = secret_box
        self.receiver = EmailReceiver(db, writer, settings)
        self.listener: SmtpListener | None = None
        self.pollers: dict[int, tuple[ImapAccount, ImapPoller]] = {}
        self.imap_ssl_context = imap_ssl_context
        self._lease: Lease | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        port = self.settings.email_listener_port
        if port:
            listener = SmtpListener(
                self.receiver,
                host=self.settings.email.smtp_host,
                port=port,
                max_message_bytes=self.settings.email.max_message_bytes,
                hostname=self.settings.email.inbound_domain,
            )
            try:
                await listener.start()
            except OSError as exc:
                # Serving without the listener beats not serving: say so. Several server
                # processes on one machine: the first one listens (docs/channels/email.md).
                log.warning(
                    "email_listener_unavailable",
                    host=self.settings.email.smtp_host,
                    port=port,
                    error=repr(exc),
                )
            else:
                self.listener = listener
        if self.settings.email_imap_enabled:
            self._lease = lease_for(self.settings.database_url, LEASE_NAME, self.settings.data_dir)
            self._task = asyncio.create_task(self._keep_pollers(), name="email-imap-pollers")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._stop_pollers(list(self.pollers))
        if self._lease is not None:
            await self._lease.release()
            self._lease = None
        if self.listener is not None:
            await self.listener.stop()
            self.listener = None

    async def _keep_pollers(self) -> None:
        assert self._lease is not None
        while True:
            try:
                if await self._lease.acquire():
                    await self.refresh()
                elif self.pollers:
                    await self._stop_pollers(list(self.pollers))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("email_pollers_refresh_failed")
            await asyncio.sleep(self.settings.email.imap_refresh_s)

    async def refresh(self) -> None:
        """One poller per email inbox with an IMAP server: new ones started, changed ones
        restarted, removed ones stopped."""
        wanted: dict[int, tuple[EmailInbox, ImapAccount]] = {}
        async with self.receiver.db.transaction() as session:
            rows = (await session.scalars(select(Inbox).where(Inbox.channel_type == CHANNEL))).all()
        for row in rows:
            inbox = email_inbox(row)
            if inbox is None or not inbox.config.imap_host:
                continue
            try:
                secrets = decrypt_secrets(self.secret_box, row)
            except ValueError:
                log.error("email_inbox_secrets_unreadable", inbox_id=row.id)
                continue
            account = account_of(inbox, secrets)
            if account is not None:
                wanted[inbox.id] = (inbox, account)
        gone = [
            inbox_id
            for inbox_id, (account, _) in self.pollers.items()
            if inbox_id not in wanted or wanted[inbox_id][1] != account
        ]
        await self._stop_pollers(gone)
        for inbox_id, (inbox, account) in wanted.items():
            if inbox_id not in self.pollers:
                poller = ImapPoller(
                    self.receiver,
                    self.clock,
                    inbox,
                    account,
                    timeout_s=self.settings.email.timeout_s,
                    max_message_bytes=self.settings.email.max_message_bytes,
                    ssl_context=self.imap_ssl_context,
                )
                poller.start()
                self.pollers[inbox_id] = (account, poller)
                log.info("imap_poller_started", inbox_id=inbox_id, host=account.host)

    async def stop_pollers(self) -> None:
        """Stop every poller (they start again at the next refresh)."""
        await self._stop_pollers(list(self.pollers))

    async def _stop_pollers(self, inbox_ids: list[int]) -> None:
        for inbox_id in inbox_ids:
            _, poller = self.pollers.pop(inbox_id)
            await poller.stop()
            log.info("imap_poller_stopped", inbox_id=inbox_id)
