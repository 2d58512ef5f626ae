from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    delete,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.principal import Principal
from omnidesk.contacts.models import Identity
from omnidesk.conversations.models import Attachment, Conversation, ConversationTag, Message
from omnidesk.conversations.schemas import ConversationFilters
from omnidesk.events.models import Event
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.pagination import Cursor
from omnidesk.sla import repository as sla_repo


def visible_to(principal: Principal) -> Select[Conversation]:
    """Supervisors see every conversation; agents see theirs, their teams' and unassigned ones."""
    query = select(Conversation).where(Conversation.account_id == principal.account_id)
    if principal.is_supervisor:
        return query
    return query.where(
        or_(
            Conversation.assignee_id == principal.user_id,
            Conversation.team_id.in_(principal.team_ids or [-1]),
            and_(Conversation.assignee_id.is_(None), Conversation.team_id.is_(None)),
        )
    )


async def get_visible(
    session: AsyncSession, principal: Principal, conversation_id: int
) -> Conversation | None:
    return await session.scalar(visible_to(principal).where(Conversation.id == conversation_id))


async def get_in_account(
    session: AsyncSession, account_id: int, conversation_id: int
) -> Conversation | None:
    return await session.scalar(
        select(Conversation).where(
            Conversation.account_id == account_id, Conversation.id == conversation_id
        )
    )


async def get_many(session: AsyncSession, ids: Iterable[int]) -> dict[int, Conversation]:
    """Conversations by id, whatever their account: callers hold ids from their own rows."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(Conversation).where(Conversation.id.in_(wanted)))
    return {conversation.id: conversation for conversation in rows}


def _search_ids(dialect: str, q: str) -> Select[int]:
    """Conversations with a message matching ``q`` (FTS5 on SQLite, tsvector on PostgreSQL)."""
    if dialect == "sqlite":
        # Quote every term so that user input is never FTS5 query syntax.
        terms = " ".join('"' + t.replace('"', '""') + '"' for t in q.split())
        matching = text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :q").bindparams(
            q=terms
        )
        return select(Message.conversation_id).where(Message.id.in_(matching))
    tsquery = func.plainto_tsquery(literal_column("'simple'"), q)
    return select(Message.conversation_id).where(
        func.to_tsvector(literal_column("'simple'"), Message.body).op("@@")(tsquery)
    )


async def list_conversations(
    session: AsyncSession,
    principal: Principal,
    filters: ConversationFilters,
    *,
    cursor: Cursor | None,
    limit: int,
) -> Sequence[Conversation]:
    query = visible_to(principal)
    if filters.status:
        query = query.where(Conversation.status.in_(filters.status))
    if filters.priority:
        query = query.where(Conversation.priority.in_(filters.priority))
    if filters.assignee == "me":
        query = query.where(Conversation.assignee_id == principal.user_id)
    elif filters.assignee == "none":
        query = query.where(Conversation.assignee_id.is_(None))
    elif filters.assignee == "any":
        query = query.where(Conversation.assignee_id.is_not(None))
    for column, value in (
        (Conversation.assignee_id, filters.assignee_id),
        (Conversation.team_id, filters.team_id),
        (Conversation.inbox_id, filters.inbox_id),
        (Conversation.contact_id, filters.contact_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.team == "mine":
        query = query.where(Conversation.team_id.in_(principal.team_ids or [-1]))
    if filters.channel:
        query = query.where(
            Conversation.inbox_id.in_(
                select(Inbox.id).where(
                    Inbox.account_id == principal.account_id,
                    Inbox.channel_type.in_(filters.channel),
                )
            )
        )
    if filters.tag:
        query = query.where(
            Conversation.id.in_(
                select(ConversationTag.conversation_id).where(
                    ConversationTag.tag == filters.tag.lower()
                )
            )
        )
    if filters.sla_state:
        query = query.where(
            Conversation.id.in_(
                sla_repo.conversations_in_states(principal.account_id, filters.sla_state)
            )
        )
    if filters.q and filters.q.strip():
        q = filters.q.strip()
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                Conversation.subject.ilike(pattern, escape="\\"),
                Conversation.id.in_(_search_ids(session.get_bind().dialect.name, q)),
            )
        )
    if cursor is not None:
        last_activity = datetime.fromisoformat(str(cursor.key))
        query = query.where(
            tuple_(Conversation.last_activity_at, Conversation.id) < (last_activity, cursor.id)
        )
    query = query.order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
    return (await session.scalars(query.limit(limit))).all()


async def tags_of(session: AsyncSession, conversation_ids: Sequence[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {cid: [] for cid in conversation_ids}
    if not conversation_ids:
        return result
    rows = await session.execute(
        select(ConversationTag.conversation_id, ConversationTag.tag)
        .where(ConversationTag.conversation_id.in_(conversation_ids))
        .order_by(ConversationTag.tag)
    )
    for cid, tag in rows:
        result[cid].append(tag)
    return result


async def set_tags(session: AsyncSession, conversation_id: int, tags: Sequence[str]) -> None:
    await session.execute(
        delete(ConversationTag).where(ConversationTag.conversation_id == conversation_id)
    )
    session.add_all(ConversationTag(conversation_id=conversation_id, tag=t) for t in tags)


async def find_thread(
    session: AsyncSession, account_id: int, inbox_id: int, thread_id: str
) -> Conversation | None:
    return await session.scalar(
        select(Conversation)
        .where(
            Conversation.account_id == account_id,
            Conversation.inbox_id == inbox_id,
            Conversation.channel_thread_id == thread_id,
            Conversation.status != "closed",
        )
        .order_by(Conversation.id.desc())
        .limit(1)
    )


async def latest_for_contact(
    session: AsyncSession, account_id: int, inbox_id: int, contact_id: int
) -> Conversation | None:
    return await session.scalar(
        select(Conversation)
        .where(
            Conversation.account_id == account_id,
            Conversation.inbox_id == inbox_id,
            Conversation.contact_id == contact_id,
            Conversation.status != "closed",
        )
        .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
        .limit(1)
    )


# Built once: the inbound writer runs them for every batch (see kit/db.py, "prebuilt").
_LATEST_FOR_CONTACTS = (
    select(Conversation)
    .where(
        Conversation.account_id == bindparam("account_id"),
        tuple_(Conversation.inbox_id, Conversation.contact_id).in_(
            bindparam("pairs", expanding=True)
        ),
        Conversation.status != "closed",
    )
    .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
)
_MESSAGES_BY_CHANNEL_IDS = select(Message).where(
    tuple_(Message.inbox_id, Message.channel_message_id).in_(bindparam("keys", expanding=True))
)


async def latest_for_contacts(
    session: AsyncSession, account_id: int, pairs: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], Conversation]:
    """:func:`latest_for_contact` for many ``(inbox_id, contact_id)`` pairs in one query."""
    if not pairs:
        return {}
    rows = await session.scalars(
        _LATEST_FOR_CONTACTS, {"account_id": account_id, "pairs": list(set(pairs))}
    )
    latest: dict[tuple[int, int], Conversation] = {}
    for conversation in rows:
        latest.setdefault((conversation.inbox_id or 0, conversation.contact_id), conversation)
    return latest


async def messages_by_channel_ids(
    session: AsyncSession, keys: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], Message]:
    """Stored messages by ``(inbox_id, channel_message_id)``, in one query."""
    if not keys:
        return {}
    rows = await session.scalars(_MESSAGES_BY_CHANNEL_IDS, {"keys": list(set(keys))})
    return {(m.inbox_id or 0, m.channel_message_id or ""): m for m in rows}


_THREADS_BY_CHANNEL_IDS = select(
    Message.inbox_id, Message.channel_message_id, Message.id, Message.conversation_id
).where(tuple_(Message.inbox_id, Message.channel_message_id).in_(bindparam("keys", expanding=True)))
_RECENT_FOR_CONTACTS = (
    select(Conversation)
    .where(
        Conversation.account_id == bindparam("account_id"),
        tuple_(Conversation.inbox_id, Conversation.contact_id).in_(
            bindparam("pairs", expanding=True)
        ),
        Conversation.status != "closed",
        Conversation.last_activity_at >= bindparam("since"),
    )
    .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
)


async def threads_by_channel_ids(
    session: AsyncSession, keys: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], tuple[int, int]]:
    """``(message id, conversation id)`` of stored messages by ``(inbox_id,
    channel_message_id)``, in one query (columns only: no rows to load)."""
    wanted = list(set(keys))
    if not wanted:
        return {}
    rows = await session.execute(_THREADS_BY_CHANNEL_IDS, {"keys": wanted})
    return {
        (inbox_id or 0, channel_id or ""): (mid, cid) for inbox_id, channel_id, mid, cid in rows
    }


async def recent_for_contacts(
    session: AsyncSession, account_id: int, pairs: Sequence[tuple[int, int]], since: datetime
) -> dict[tuple[int, int], list[Conversation]]:
    """Each ``(inbox_id, contact_id)``'s conversations not closed and active since
    ``since``, latest activity first, in one query."""
    if not pairs:
        return {}
    rows = await session.scalars(
        _RECENT_FOR_CONTACTS,
        {"account_id": account_id, "pairs": list(set(pairs)), "since": since},
    )
    recent: dict[tuple[int, int], list[Conversation]] = {}
    for conversation in rows:
        recent.setdefault((conversation.inbox_id or 0, conversation.contact_id), []).append(
            conversation
        )
    return recent


async def get_message_by_channel_id(
    session: AsyncSession, inbox_id: int, channel_message_id: str
) -> Message | None:
    return await session.scalar(
        select(Message).where(
            Message.inbox_id == inbox_id, Message.channel_message_id == channel_message_id
        )
    )


async def get_message(
    session: AsyncSession, message_id: int, *, lock: bool = False
) -> Message | None:
    """``lock``: held until commit, and read as last committed (PostgreSQL: FOR UPDATE)."""
    if lock:
        return await session.get(Message, message_id, with_for_update=True, populate_existing=True)
    return await session.get(Message, message_id)


async def list_messages(
    session: AsyncSession, conversation_id: int, *, after_id: int, limit: int
) -> Sequence[Message]:
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.id > after_id)
        .order_by(Message.id)
        .limit(limit)
    )
    return rows.all()


async def attachments_of(
    session: AsyncSession, message_ids: Sequence[int]
) -> dict[int, list[Attachment]]:
    result: dict[int, list[Attachment]] = {mid: [] for mid in message_ids}
    if not message_ids:
        return result
    rows = await session.scalars(
        select(Attachment).where(Attachment.message_id.in_(message_ids)).order_by(Attachment.id)
    )
    for attachment in rows:
        assert attachment.message_id is not None
        result[attachment.message_id].append(attachment)
    return result


async def get_attachment(
    session: AsyncSession, account_id: int, attachment_id: int
) -> Attachment | None:
    return await session.scalar(
        select(Attachment).where(
            Attachment.account_id == account_id, Attachment.id == attachment_id
        )
    )


async def unattached(
    session: AsyncSession, account_id: int, attachment_ids: Sequence[int]
) -> Sequence[Attachment]:
    rows = await session.scalars(
        select(Attachment).where(
            Attachment.account_id == account_id,
            Attachment.id.in_(attachment_ids),
            Attachment.message_id.is_(None),
        )
    )
    return rows.all()


async def contacts_left(
    session: AsyncSession, conversation_ids: Iterable[int], *, left: str, received: str
) -> dict[int, datetime]:
    """The conversations whose contact left (event type ``left``) after their last message
    (event type ``received``), and when they left. Event ids, not times: two facts in the
    same instant keep the order in which they were recorded."""
    wanted = sorted(set(conversation_ids))
    if not wanted:
        return {}
    latest: dict[int, dict[str, int]] = {}
    for conversation_id, kind, last_id in await session.execute(
        select(Event.conversation_id, Event.type, func.max(Event.id))
        .where(Event.conversation_id.in_(wanted), Event.type.in_((left, received)))
        .group_by(Event.conversation_id, Event.type)
    ):
        if conversation_id is not None:
            latest.setdefault(conversation_id, {})[kind] = last_id
    departures = [
        ids[left] for ids in latest.values() if left in ids and ids[left] > ids.get(received, 0)
    ]
    if not departures:
        return {}
    rows = await session.execute(
        select(Event.conversation_id, Event.created_at).where(Event.id.in_(departures))
    )
    return {conversation_id: at for conversation_id, at in rows if conversation_id is not None}


async def lock_conversation(session: AsyncSession, conversation_id: int) -> None:
    """Row-lock the conversation until the transaction ends (PostgreSQL; SQLite has one
    writer at a time anyway)."""
    await session.execute(
        select(Conversation.id).where(Conversation.id == conversation_id).with_for_update()
    )


async def outbound_message_id(
    session: AsyncSession, inbox_id: int, channel_message_id: str
) -> int | None:
    """Our message a provider knows by ``channel_message_id`` in one inbox."""
    found: int | None = await session.scalar(
        select(Message.id).where(
            Message.inbox_id == inbox_id,
            Message.channel_message_id == channel_message_id,
            Message.direction == "outbound",
        )
    )
    return found


async def outbound_ids_read_until(
    session: AsyncSession, inbox_id: int, kind: str, value: str, until: datetime
) -> list[int]:
    """Our sent, not yet read messages in one inbox to the contact with the identity
    ``(kind, value)``, written until ``until`` (what a read watermark covers)."""
    found = await session.scalars(
        select(Message.id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Identity, Identity.contact_id == Conversation.contact_id)
        .where(
            Message.inbox_id == inbox_id,
            Message.direction == "outbound",
            Message.delivery_status.in_(("sent", "delivered")),
            Message.created_at <= until,
            Identity.account_id == Message.account_id,
            Identity.kind == kind,
            Identity.value == value,
        )
        .order_by(Message.id)
    )
    return list(found)


async def last_exchanged(
    session: AsyncSession, conversation_id: int, before_id: int
) -> tuple[Message | None, Message | None]:
    """The customer's last message before ``before_id``, and our last one a provider took
    (it has the provider's id): what a reply threads on."""
    earlier = (
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.kind == "message",
            Message.id < before_id,
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    inbound = await session.scalar(earlier.where(Message.direction == "inbound"))
    outbound = await session.scalar(
        earlier.where(Message.direction == "outbound", Message.channel_message_id.is_not(None))
    )
    return inbound, outbound


async def last_inbound_at(session: AsyncSession, conversation_id: int) -> datetime | None:
    """When the customer last wrote in the conversation (a reply window runs from it)."""
    return await session.scalar(
        select(func.max(Message.created_at)).where(
            Message.conversation_id == conversation_id,
            Message.direction == "inbound",
            Message.kind == "message",
        )
    )
