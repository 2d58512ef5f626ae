"""IMAP polling: an inbox with an IMAP server has its mailbox read by one poller.

A poller logs in (implicit TLS, or plain for a loopback server), selects the mailbox and
fetches every message above the last UID it stored, oldest first, each stored through the
inbound writer **before** its UID is recorded (``email_imap_cursors``): a restart neither
misses nor repeats a message (one fetched twice, after a crash between the two commits, is
deduplicated on its Message-ID). A new UIDVALIDITY (the mailbox was recreated) starts over
from the first UID, deduplicated the same way. Then it waits for the server to announce new
mail (IDLE) or, if the server cannot, polls at the inbox's interval. Messages are read with
``BODY.PEEK[]``: their \\Seen flag is left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from dataclasses import dataclass
from typing import Any

import structlog
from aioimaplib import aioimaplib  # type: ignore[import-untyped]
from sqlalchemy import select

from omnidesk.channels.base import CheckResult
from omnidesk.channels.email.models import ImapCursor
from omnidesk.channels.email.receiving import BadMail, EmailInbox, EmailReceiver
from omnidesk.channels.email.schemas import EmailConfig
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import OmnideskError, ServiceUnavailable

log = structlog.get_logger(__name__)

#: Longest wait in IDLE before asking again: servers drop idle clients after 30 minutes,
#: NAT boxes often after 5, and a connection that died silently is noticed by then.
IDLE_MAX_S = 5 * 60
#: Back-off after a failure (connection refused, login refused…): doubled up to the max.
RETRY_MIN_S = 2.0
RETRY_MAX_S = 300.0
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCH = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapError(Exception):
    """The server refused something (login, select, fetch)."""


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    tls: bool
    username: str
    password: str
    mailbox: str
    poll_interval_s: float


def account_of(inbox: EmailInbox, secrets: dict[str, Any]) -> ImapAccount | None:
    return account_from(inbox.config, secrets)


def account_from(config: EmailConfig, secrets: dict[str, Any]) -> ImapAccount | None:
    """The IMAP account of an inbox's settings; None without an IMAP server."""
    if not config.imap_host or not config.imap_username:
        return None
    password = secrets.get("imap_password")
    return ImapAccount(
        host=config.imap_host,
        port=config.imap_port_or_default,
        tls=config.imap_tls,
        username=config.imap_username,
        password=password if isinstance(password, str) else "",
        mailbox=config.imap_mailbox,
        poll_interval_s=float(config.imap_poll_interval_s),
    )


class ImapPoller:
    def __init__(
        self,
        receiver: EmailReceiver,
        clock: Clock,
        inbox: EmailInbox,
        account: ImapAccount,
        *,
        timeout_s: float,
        max_message_bytes: int,
        ssl_context: ssl.SSLContext | None = None,
        idle_s: float = IDLE_MAX_S,
    ) -> None:
        self.receiver = receiver
        self.clock = clock
        self.inbox = inbox
        self.account = account
        self.timeout_s = timeout_s
        self.max_message_bytes = max_message_bytes
        self.ssl_context = ssl_context
        self.idle_s = min(idle_s, IDLE_MAX_S)
        #: Set after each pass over the mailbox (tests wait on it).
        self.synced = asyncio.Event()
        self.passes = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"imap-poller-{self.inbox.id}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        """Connect, read, wait, read… for ever; failures are logged and retried later."""
        delay = RETRY_MIN_S
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "imap_poll_failed",
                    inbox_id=self.inbox.id,
                    host=self.account.host,
                    error=repr(exc)[:300],
                    retry_in_s=delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
            else:
                delay = RETRY_MIN_S

    async def _session(self) -> None:
        client = self._client()
        try:
            await client.wait_hello_from_server()
            answer = await client.login(self.account.username, self.account.password)
            if answer.result != "OK":
                raise ImapError(f"login refused: {_text(answer.lines)}")
            answer = await client.select(_mailbox_argument(self.account.mailbox))
            if answer.result != "OK":
                raise ImapError(f"cannot select {self.account.mailbox!r}: {_text(answer.lines)}")
            uid_validity = _uid_validity(answer.lines)
            while True:
                await self.sync(client, uid_validity)
                if not await self._wait_for_mail(client):
                    return  # the mailbox changed under us: select it again
        finally:
            await _close(client)

    def _client(self) -> Any:
        return _client(self.account, self.timeout_s, self.ssl_context)

    async def sync(self, client: Any, uid_validity: int) -> int:
        """Store every message above the cursor, oldest first; returns how many were new."""
        last_uid = await self._cursor(uid_validity)
        answer = await client.uid("fetch", f"{last_uid + 1}:*", "(UID RFC822.SIZE)")
        if answer.result != "OK":
            raise ImapError(f"fetch refused: {_text(answer.lines)}")
        stored = 0
        for uid, size in sorted(_uids_and_sizes(answer.lines)):
            if uid <= last_uid:
                continue  # "n:*" names the last message even when its UID is below n
            if await self._take(client, uid, size):
                stored += 1
            await self._advance(uid_validity, uid)
        self.passes += 1
        self.synced.set()
        return stored

    async def _take(self, client: Any, uid: int, size: int) -> bool:
        """Store one message; False when it is refused for good (logged, and passed over)."""
        if size > self.max_message_bytes:
            log.error(
                "imap_message_too_large",
                inbox_id=self.inbox.id,
                uid=uid,
                size=size,
                limit=self.max_message_bytes,
            )
            return False
        answer = await client.uid("fetch", str(uid), "(BODY.PEEK[])")
        if answer.result != "OK":
            raise ImapError(f"fetch refused: {_text(answer.lines)}")
        raw = _literal(answer.lines)
        if raw is None:
            log.warning("imap_message_gone", inbox_id=self.inbox.id, uid=uid)
            return False
        try:
            inbound = self.receiver.inbound(raw)
            await self.receiver.store(self.inbox, inbound)
        except BadMail as exc:
            log.error("imap_message_refused", inbox_id=self.inbox.id, uid=uid, reason=str(exc))
            return False
        except ServiceUnavailable:
            raise
        except OmnideskError as exc:
            log.error(
                "imap_message_refused",
                inbox_id=self.inbox.id,
                uid=uid,
                reason=exc.message,
                field=exc.field,
            )
            return False
        return True

    async def _wait_for_mail(self, client: Any) -> bool:
        """Until the server says something changed (IDLE) or the poll interval passes.
        False when the connection should start over."""
        if not client.has_capability("IDLE"):
            await asyncio.sleep(self.account.poll_interval_s)
            answer = await client.noop()
            return bool(answer.result == "OK")
        idle = await client.idle_start(timeout=self.idle_s)
        try:
            pushed = await client.wait_server_push(timeout=self.idle_s + self.timeout_s)
        finally:
            client.idle_done()
            await asyncio.wait_for(idle, self.timeout_s)
        lines = pushed if isinstance(pushed, list) else []
        # A BYE (server shutting down) ends the session; the next one reconnects.
        return not any(isinstance(line, bytes) and line.startswith(b"BYE") for line in lines)

    async def _cursor(self, uid_validity: int) -> int:
        """The last stored UID, 0 for a new mailbox or a new UIDVALIDITY."""
        async with self.receiver.db.transaction() as session:
            cursor = await session.get(ImapCursor, (self.inbox.id, self.account.mailbox))
            if cursor is not None and cursor.uid_validity == uid_validity:
                return cursor.last_uid
            if cursor is None:
                cursor = ImapCursor(inbox_id=self.inbox.id, mailbox=self.account.mailbox)
                session.add(cursor)
            else:
                log.warning(
                    "imap_uidvalidity_changed",
                    inbox_id=self.inbox.id,
                    mailbox=self.account.mailbox,
                    previous=cursor.uid_validity,
                    current=uid_validity,
                )
            cursor.uid_validity, cursor.last_uid = uid_validity, 0
            cursor.updated_at = self.clock.now()
        return 0

    async def _advance(self, uid_validity: int, uid: int) -> None:
        async with self.receiver.db.transaction() as session:
            cursor = await session.get(ImapCursor, (self.inbox.id, self.account.mailbox))
            if cursor is None or cursor.uid_validity != uid_validity:
                raise ImapError("the cursor changed under the poller")
            cursor.last_uid = max(cursor.last_uid, uid)
            cursor.updated_at = self.clock.now()


async def check_account(
    account: ImapAccount, *, timeout_s: float, ssl_context: ssl.SSLContext | None = None
) -> list[CheckResult]:
    """Connect, log in and select the mailbox as a poller would (reading nothing): one
    result per step, the first failure ending the check."""
    where = f"{account.host}:{account.port}" + (" (TLS)" if account.tls else "")
    client = _client(account, timeout_s, ssl_context)
    results: list[CheckResult] = []
    step = "IMAP connect"
    try:
        await asyncio.wait_for(client.wait_hello_from_server(), timeout_s)
        results.append(CheckResult(step, True, f"{where} answered"))
        step = "IMAP login"
        answer = await client.login(account.username, account.password)
        if answer.result != "OK":
            raise ImapError(f"refused: {_text(answer.lines)}")
        results.append(CheckResult(step, True, f"logged in as {account.username}"))
        step = "IMAP mailbox"
        answer = await client.select(_mailbox_argument(account.mailbox))
        if answer.result != "OK":
            raise ImapError(f"cannot select {account.mailbox!r}: {_text(answer.lines)}")
        results.append(CheckResult(step, True, f"{account.mailbox} selected"))
    except (ImapError, OSError, TimeoutError, ssl.SSLError) as exc:
        detail = str(exc) if isinstance(exc, ImapError) else f"{where}: {_reason(exc)}"
        results.append(CheckResult(step, False, detail[:300]))
    except Exception as exc:  # aioimaplib raises its own kinds (aborts, protocol errors)
        results.append(CheckResult(step, False, f"{where}: {_reason(exc)}"[:300]))
    finally:
        await _close(client)
    return results


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return str(exc) or type(exc).__name__


def _client(account: ImapAccount, timeout_s: float, ssl_context: ssl.SSLContext | None) -> Any:
    if account.tls:
        context = ssl_context or ssl.create_default_context()
        return aioimaplib.IMAP4_SSL(
            account.host, account.port, timeout=timeout_s, ssl_context=context
        )
    return aioimaplib.IMAP4(account.host, account.port, timeout=timeout_s)


async def cursor_of(receiver: EmailReceiver, inbox_id: int, mailbox: str) -> ImapCursor | None:
    async with receiver.db.transaction() as session:
        return await session.scalar(
            select(ImapCursor).where(ImapCursor.inbox_id == inbox_id, ImapCursor.mailbox == mailbox)
        )


async def _close(client: Any) -> None:
    with contextlib.suppress(Exception):
        if client.get_state() in ("AUTH", "SELECTED", "NONAUTH"):
            await asyncio.wait_for(client.logout(), 2.0)
    transport = getattr(client.protocol, "transport", None)
    if transport is not None:
        # Logged out (or giving up): drop the connection now. A graceful close waits for
        # the server's TLS close_notify, and its socket outlives a caller whose event loop
        # stops first (a check run in a short-lived loop).
        transport.abort()
    connecting = getattr(client, "_client_task", None)
    tasks = list(getattr(client, "tasks", ())) + list(getattr(client.protocol, "tasks", ()))
    for task in [connecting, *tasks]:
        if task is not None and not task.done():
            task.cancel()


def _mailbox_argument(name: str) -> str:
    return f'"{name}"' if any(c in name for c in " (){%*]") else name


def _uid_validity(lines: list[Any]) -> int:
    for line in lines:
        found = _UIDVALIDITY.search(bytes(line))
        if found:
            return int(found.group(1))
    raise ImapError("the server gave no UIDVALIDITY")


def _uids_and_sizes(lines: list[Any]) -> list[tuple[int, int]]:
    found = []
    for line in lines:
        if isinstance(line, bytes) and _FETCH.match(line):
            uid, size = _UID.search(line), _SIZE.search(line)
            if uid is not None:
                found.append((int(uid.group(1)), int(size.group(1)) if size else 0))
    return found


def _literal(lines: list[Any]) -> bytes | None:
    for line in lines:
        if isinstance(line, bytearray):
            return bytes(line)
    return None


def _text(lines: list[Any]) -> str:
    return " ".join(bytes(line).decode("utf-8", "replace") for line in lines)[:300]
