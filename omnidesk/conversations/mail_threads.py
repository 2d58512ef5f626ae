"""How a customer's email finds its conversation, in the inbound writer.

Mail has no session: a reply says what it answers in its headers, or not at all. For a
message to an email inbox, in order:

1. the conversation the channel proved with a signed token (``conversation_hint``), if it
   is in the message's own account and inbox;
2. the conversation of the newest stored message among the ones it refers to
   (``thread_refs``: the customer's earlier mails and our replies alike, by their
   Message-IDs in the inbox);
3. last, a conversation of the same contact in the same inbox, not closed, active in the
   last :data:`SUBJECT_WINDOW`, whose subject is the same once "Re:"/"Fwd:"-style prefixes
   and ``[#…]`` tags are removed;

else a new conversation. Unlike chat channels, a new mail never joins the contact's last
conversation on that ground alone: two questions by mail are two tickets. A closed
conversation is never continued (the reply opens a new one, as on other channels).

Lookups are made once per batch (:func:`load`): one query for the references, one for
the conversations they and the hints name, one for the subject candidates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.channels.base import Inbound
from omnidesk.conversations import repository as repo
from omnidesk.conversations.models import Conversation
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.clock import ensure_utc

EMAIL_CHANNEL = "email"
SUBJECT_WINDOW = timedelta(days=14)
#: Reply and forward prefixes of common mail clients (English, German, Nordic, Dutch,
#: French, Spanish, Italian…), with Outlook's counters ("RE[2]:"); full-width colon too.
_PREFIX = re.compile(
    r"^\s*(?:re|fwd?|fw|aw|wg|sv|vs|antw|tr|rv|r|enc)\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]\s*",
    re.IGNORECASE,
)
_TAG = re.compile(r"\[#[^\]]*\]")

#: One message to thread: its inbox, its contact's id, the message.
Mail = tuple[Inbox, int, Inbound]


def applies(inbox: Inbox) -> bool:
    return inbox.channel_type == EMAIL_CHANNEL


def thread_subject(subject: str | None) -> str:
    """``"RE: Fwd: [#42] Order  5"`` → ``"order 5"``: what a reply's subject keeps."""
    value = _TAG.sub(" ", subject or "")
    while True:
        stripped = _PREFIX.sub("", value, count=1)
        if stripped == value:
            break
        value = stripped
    return " ".join(value.split()).casefold()


@dataclass
class MailThreads:
    """What a batch needs to thread its mail; it learns the batch's own new messages."""

    now: datetime
    #: ``(inbox_id, channel_message_id)`` → ``(message id, conversation id)``, stored.
    stored: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)
    conversations: dict[int, Conversation] = field(default_factory=dict)
    #: ``(inbox_id, contact_id)`` → open conversations active lately, latest first.
    recent: dict[tuple[int, int], list[Conversation]] = field(default_factory=dict)
    #: Messages this batch stored, by ``(inbox_id, channel_message_id)``.
    batch: dict[tuple[int, str], Conversation] = field(default_factory=dict)

    def find(self, inbox: Inbox, contact_id: int, inbound: Inbound) -> Conversation | None:
        proven = self._proven(inbox, inbound)
        if proven is not None:
            return proven
        subject = thread_subject(inbound.subject)
        if not subject:
            return None
        for conversation in self.recent.get((inbox.id, contact_id), []):
            if (
                self._continues(conversation, inbox)
                and ensure_utc(conversation.last_activity_at) >= self.now - SUBJECT_WINDOW
                and thread_subject(conversation.subject) == subject
            ):
                return conversation
        return None

    def remember(
        self, inbox: Inbox, contact_id: int, inbound: Inbound, conversation: Conversation
    ) -> None:
        """A message stored by this batch: later mails of the batch may refer to it."""
        self.batch[(inbox.id, inbound.channel_message_id)] = conversation
        recent = self.recent.setdefault((inbox.id, contact_id), [])
        if conversation not in recent:
            recent.insert(0, conversation)

    def _proven(self, inbox: Inbox, inbound: Inbound) -> Conversation | None:
        """By the signed token, else by the references."""
        hint = self.conversations.get(inbound.conversation_hint or 0)
        if hint is not None and self._continues(hint, inbox):
            return hint
        return self._by_refs(inbox, inbound.thread_refs)

    def _by_refs(self, inbox: Inbox, refs: Sequence[str]) -> Conversation | None:
        newest: tuple[int, Conversation] | None = None
        for ref in refs:
            key = (inbox.id, ref)
            if key in self.batch:  # newer than anything stored
                conversation = self.batch[key]
                if self._continues(conversation, inbox):
                    return conversation
                continue
            if key not in self.stored:
                continue
            message_id, conversation_id = self.stored[key]
            found = self.conversations.get(conversation_id)
            if (
                found is not None
                and self._continues(found, inbox)
                and (newest is None or message_id > newest[0])
            ):
                newest = (message_id, found)
        return newest[1] if newest is not None else None

    @staticmethod
    def _continues(conversation: Conversation, inbox: Inbox) -> bool:
        return (
            conversation.account_id == inbox.account_id
            and conversation.inbox_id == inbox.id
            and conversation.status != "closed"
        )


async def load(session: AsyncSession, now: datetime, mails: Sequence[Mail]) -> MailThreads:
    """The lookups for a batch's mail, a few queries whatever its size (none without mail)."""
    threads = MailThreads(now=now)
    if not mails:
        return threads
    threads.stored = await repo.threads_by_channel_ids(
        session, ((inbox.id, ref) for inbox, _, inbound in mails for ref in inbound.thread_refs)
    )
    named = {cid for _, cid in threads.stored.values()}
    named |= {m[2].conversation_hint for m in mails if m[2].conversation_hint is not None}
    threads.conversations = await repo.get_many(session, named)
    by_account: dict[int, list[tuple[int, int]]] = {}
    for inbox, contact_id, inbound in mails:
        if thread_subject(inbound.subject) and threads._proven(inbox, inbound) is None:
            by_account.setdefault(inbox.account_id, []).append((inbox.id, contact_id))
    for account_id, pairs in by_account.items():
        threads.recent |= await repo.recent_for_contacts(
            session, account_id, pairs, now - SUBJECT_WINDOW
        )
    return threads
