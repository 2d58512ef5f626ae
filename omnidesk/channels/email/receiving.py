"""From raw mail to a stored message: shared by the SMTP listener and the IMAP pollers.

A mail is parsed by :func:`mime.to_inbound` (the only door from bytes to an Inbound),
gets the conversation named by a signed token in one of its recipient addresses as its
``conversation_hint``, and is stored through the inbound writer, which commits before it
answers: the listener says 250 and the poller records a UID only after that.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import getaddresses

import structlog
from sqlalchemy import select

from omnidesk.channels.base import Inbound
from omnidesk.channels.email import addressing, mime
from omnidesk.channels.email.schemas import EmailConfig
from omnidesk.conversations.inbound import InboundWriter
from omnidesk.conversations.service import InboundItem, ReceiveResult
from omnidesk.inboxes import repository as inboxes_repo
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.db import Database
from omnidesk.settings import Settings

log = structlog.get_logger(__name__)

CHANNEL = addressing.CHANNEL
#: Headers that name the address a mail was delivered to, whatever its To and Cc say.
_DELIVERY_HEADERS = ("Delivered-To", "X-Original-To", "X-Forwarded-To", "Envelope-To")


class BadMail(Exception):
    """A mail that cannot become a message (unparseable): refused, never retried."""


@dataclass(frozen=True)
class EmailInbox:
    id: int
    account_id: int
    name: str
    config: EmailConfig


def email_inbox(inbox: Inbox) -> EmailInbox | None:
    """The inbox with its checked configuration; None (logged) when it is not usable."""
    try:
        config = EmailConfig.model_validate(inbox.config)
    except ValueError as exc:
        log.warning("email_inbox_misconfigured", inbox_id=inbox.id, error=str(exc)[:300])
        return None
    return EmailInbox(inbox.id, inbox.account_id, inbox.name, config)


async def email_inboxes(db: Database) -> list[EmailInbox]:
    async with db.transaction() as session:
        rows = (
            await session.scalars(
                select(Inbox).where(Inbox.channel_type == CHANNEL).order_by(Inbox.id)
            )
        ).all()
    return [found for found in map(email_inbox, rows) if found is not None]


class EmailReceiver:
    def __init__(self, db: Database, writer: InboundWriter, settings: Settings) -> None:
        self.db = db
        self.writer = writer
        self.settings = settings
        self.key = addressing.email_key(settings)

    async def find_inbox(self, address: str) -> EmailInbox | None:
        """The inbox a recipient address reaches: its forwarding address (any plus-tag), or
        the configured address of exactly one inbox (several claiming it: none)."""
        local, domain = addressing.split_address(address)
        if not local:
            return None
        forwarded = addressing.read_forwarding(local, self.key)
        if forwarded is not None and domain == self.settings.email.inbound_domain.lower():
            # Signed: it names its inbox, so that one row is all there is to read.
            async with self.db.transaction() as session:
                found = (await inboxes_repo.get_inboxes(session, [forwarded])).get(forwarded)
            return email_inbox(found) if found and found.channel_type == CHANNEL else None
        inboxes = await email_inboxes(self.db)
        claiming = [
            i
            for i in inboxes
            if i.config.domain == domain
            and addressing.base_local(i.config.local_part) == addressing.base_local(local)
        ]
        if len(claiming) > 1:
            log.warning(
                "email_address_ambiguous", address=address, inboxes=[i.id for i in claiming]
            )
            return None
        return claiming[0] if claiming else None

    def inbound(self, raw: bytes, envelope_recipients: Sequence[str] = ()) -> Inbound:
        """The mail as an Inbound, with its conversation hint; BadMail when unparseable."""
        try:
            # A mail without a Message-ID gets one made from its bytes (trace headers
            # aside), so a mail that comes twice is still stored once.
            inbound = mime.to_inbound(raw, limits=self.settings.attachments)
        except Exception as exc:  # whatever the bytes, the caller gets one kind of error
            raise BadMail(f"the message cannot be parsed ({type(exc).__name__})") from exc
        hint = addressing.conversation_hint(
            _recipients(raw, inbound, envelope_recipients), self.key
        )
        return inbound if hint is None else dataclasses.replace(inbound, conversation_hint=hint)

    async def store(self, inbox: EmailInbox, inbound: Inbound) -> ReceiveResult:
        """Store the mail in the inbox (once: a Message-ID seen before returns the stored
        message); raises the writer's error for input it refuses."""
        item = InboundItem(
            account_id=inbox.account_id, inbox_id=inbox.id, inbound=inbound, channel_type=CHANNEL
        )
        result = await self.writer.receive(item)
        log.info(
            "email_received",
            inbox_id=inbox.id,
            message_id=result.message.id,
            conversation_id=result.conversation.id,
            created=result.created,
        )
        return result


def _recipients(raw: bytes, inbound: Inbound, envelope: Iterable[str]) -> list[str]:
    """Every address the mail was sent or delivered to: To, Cc, the delivery headers and
    the SMTP envelope's recipients."""
    found = [a for a in [*inbound.meta.get("to", []), *inbound.meta.get("cc", [])] if a]
    try:
        headers = BytesHeaderParser().parsebytes(raw)
        values = [str(v) for name in _DELIVERY_HEADERS for v in headers.get_all(name, [])]
        found += [a for _, a in getaddresses(values) if a]
    except Exception:  # noqa: S110 (headers already parsed once: nothing more to find)
        pass
    return [*found, *envelope]
