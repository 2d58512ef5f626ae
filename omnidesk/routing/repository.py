"""Every query of the routing context; each is scoped to one account."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.models import User
from omnidesk.accounts.principal import Principal
from omnidesk.contacts.models import Contact
from omnidesk.conversations import events as conversation_events
from omnidesk.conversations import repository as conversations_repo
from omnidesk.conversations.models import Conversation, ConversationTag, Message
from omnidesk.events.models import Event
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.clock import ensure_utc
from omnidesk.routing.models import (
    ACTIVE_WORK,
    AgentSkill,
    AgentState,
    AwayReason,
    BusinessHours,
    Offer,
    Queue,
    RoutingProfile,
    RoutingRule,
    Skill,
    WorkItem,
)

#: The routing tables with an ``id``, ``account_id`` and (all but rules) a unique ``name``.
Named = TypeVar("Named", BusinessHours, Skill, RoutingProfile, AwayReason, Queue, RoutingRule)


async def get(session: AsyncSession, model: type[Named], account_id: int, id_: int) -> Named | None:
    row: Named | None = await session.scalar(
        select(model).where(model.account_id == account_id, model.id == id_)
    )
    return row


async def list_all(session: AsyncSession, model: type[Named], account_id: int) -> Sequence[Named]:
    order: Any = (RoutingRule.position, model.id) if model is RoutingRule else (model.id,)
    rows = await session.scalars(
        select(model).where(model.account_id == account_id).order_by(*order)
    )
    return rows.all()


async def name_taken(
    session: AsyncSession,
    model: type[Named],
    account_id: int,
    name: str,
    *,
    except_id: int | None = None,
) -> bool:
    query = select(model.id).where(model.account_id == account_id, model.name == name)
    if except_id is not None:
        query = query.where(model.id != except_id)
    return (await session.scalar(query.limit(1))) is not None


async def existing_ids(
    session: AsyncSession, model: type[Named], account_id: int, ids: Iterable[int]
) -> set[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    rows = await session.scalars(
        select(model.id).where(model.account_id == account_id, model.id.in_(wanted))
    )
    return set(rows.all())


async def existing_inbox_ids(
    session: AsyncSession, account_id: int, ids: Iterable[int]
) -> set[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    rows = await session.scalars(
        select(Inbox.id).where(Inbox.account_id == account_id, Inbox.id.in_(wanted))
    )
    return set(rows.all())


# Defaults -------------------------------------------------------------------------------


#: The routing tables with an account default.
Defaulted = TypeVar("Defaulted", Queue, RoutingProfile)


async def default(
    session: AsyncSession, model: type[Defaulted], account_id: int
) -> Defaulted | None:
    row: Defaulted | None = await session.scalar(
        select(model).where(model.account_id == account_id, model.is_default.is_(True))
    )
    return row


# References -----------------------------------------------------------------------------


async def queues_using_hours(
    session: AsyncSession, account_id: int, business_hours_id: int
) -> Sequence[str]:
    rows = await session.scalars(
        select(Queue.name)
        .where(Queue.account_id == account_id, Queue.business_hours_id == business_hours_id)
        .order_by(Queue.id)
    )
    return rows.all()


async def rules_for_queue(session: AsyncSession, account_id: int, queue_id: int) -> Sequence[str]:
    rows = await session.scalars(
        select(RoutingRule.name)
        .where(RoutingRule.account_id == account_id, RoutingRule.queue_id == queue_id)
        .order_by(RoutingRule.position)
    )
    return rows.all()


async def last_rule_position(session: AsyncSession, account_id: int) -> int:
    top = await session.scalar(
        select(func.max(RoutingRule.position)).where(RoutingRule.account_id == account_id)
    )
    return int(top or 0)


# Users, agents and their skills ---------------------------------------------------------


async def get_user(session: AsyncSession, account_id: int, user_id: int) -> User | None:
    return await session.scalar(
        select(User).where(User.account_id == account_id, User.id == user_id)
    )


async def active_users(session: AsyncSession, account_id: int) -> Sequence[User]:
    rows = await session.scalars(
        select(User).where(User.account_id == account_id, User.active.is_(True)).order_by(User.id)
    )
    return rows.all()


async def agent_states(
    session: AsyncSession, account_id: int, user_ids: Sequence[int] | None = None
) -> dict[int, AgentState]:
    query = select(AgentState).where(AgentState.account_id == account_id)
    if user_ids is not None:
        query = query.where(AgentState.user_id.in_(sorted(set(user_ids))))
    return {s.user_id: s for s in await session.scalars(query)}


async def agent_skills(
    session: AsyncSession, account_id: int, user_ids: Sequence[int] | None = None
) -> dict[int, list[tuple[int, str, int]]]:
    """``{user_id: [(skill_id, skill name, level), …]}`` for the account's agents."""
    query = (
        select(AgentSkill.user_id, AgentSkill.skill_id, Skill.name, AgentSkill.level)
        .join(Skill, Skill.id == AgentSkill.skill_id)
        .where(AgentSkill.account_id == account_id)
        .order_by(AgentSkill.user_id, Skill.name, Skill.id)
    )
    if user_ids is not None:
        query = query.where(AgentSkill.user_id.in_(sorted(set(user_ids))))
    result: dict[int, list[tuple[int, str, int]]] = {}
    for user_id, skill_id, name, level in await session.execute(query):
        result.setdefault(user_id, []).append((skill_id, name, level))
    return result


async def held_work(
    session: AsyncSession, account_id: int, user_ids: Sequence[int]
) -> dict[int, list[WorkItem]]:
    """``{user_id: [assigned work item, …]}``, first assigned first: the agents' load."""
    rows = await session.scalars(
        select(WorkItem)
        .where(
            WorkItem.account_id == account_id,
            WorkItem.status == "assigned",
            WorkItem.agent_id.in_(sorted(set(user_ids))),
        )
        .order_by(WorkItem.assigned_at, WorkItem.id)
    )
    result: dict[int, list[WorkItem]] = {}
    for item in rows:
        if item.agent_id is not None:
            result.setdefault(item.agent_id, []).append(item)
    return result


async def active_agent_levels(session: AsyncSession, account_id: int) -> list[dict[int, int]]:
    """Each active user's ``{skill_id: level}`` (also those without skills)."""
    levels: dict[int, dict[int, int]] = {u.id: {} for u in await active_users(session, account_id)}
    rows = await session.execute(
        select(AgentSkill.user_id, AgentSkill.skill_id, AgentSkill.level).where(
            AgentSkill.account_id == account_id
        )
    )
    for user_id, skill_id, level in rows:
        if user_id in levels:
            levels[user_id][skill_id] = level
    return list(levels.values())


async def replace_agent_skills(
    session: AsyncSession, account_id: int, user_id: int, skills: Sequence[tuple[int, int]]
) -> None:
    await session.execute(
        delete(AgentSkill).where(AgentSkill.account_id == account_id, AgentSkill.user_id == user_id)
    )
    session.add_all(
        AgentSkill(account_id=account_id, user_id=user_id, skill_id=skill_id, level=level)
        for skill_id, level in skills
    )


async def queue_has_work(session: AsyncSession, queue_id: int) -> bool:
    found = await session.scalar(select(WorkItem.id).where(WorkItem.queue_id == queue_id).limit(1))
    return found is not None


# The router's work ---------------------------------------------------------------------


async def unrouted(
    session: AsyncSession, account_id: int, limit: int
) -> Sequence[tuple[Conversation, str | None]]:
    """Open conversations nobody holds and no WorkItem carries yet, oldest first."""
    active = exists().where(
        WorkItem.conversation_id == Conversation.id, WorkItem.status.in_(ACTIVE_WORK)
    )
    rows = await session.execute(
        select(Conversation, Inbox.channel_type)
        .outerjoin(Inbox, Inbox.id == Conversation.inbox_id)
        .where(
            Conversation.account_id == account_id,
            Conversation.status == "open",
            Conversation.assignee_id.is_(None),
            ~active,
        )
        .order_by(Conversation.created_at, Conversation.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


async def facts_of(
    session: AsyncSession, conversations: Sequence[Conversation]
) -> tuple[dict[int, frozenset[str]], dict[int, dict[str, Any]]]:
    """Tags per conversation and attributes per contact, for the routing rules."""
    ids = [c.id for c in conversations]
    tags: dict[int, set[str]] = {i: set() for i in ids}
    for conversation_id, tag in await session.execute(
        select(ConversationTag.conversation_id, ConversationTag.tag).where(
            ConversationTag.conversation_id.in_(ids)
        )
    ):
        tags[conversation_id].add(tag)
    contact_ids = sorted({c.contact_id for c in conversations})
    attributes = {
        cid: dict(attrs or {})
        for cid, attrs in await session.execute(
            select(Contact.id, Contact.attributes).where(Contact.id.in_(contact_ids))
        )
    }
    return {i: frozenset(t) for i, t in tags.items()}, attributes


async def last_agents(
    session: AsyncSession, account_id: int, contact_ids: Sequence[int], since: datetime
) -> dict[int, tuple[int, datetime]]:
    """The agent who last took work of each contact since then, and when."""
    if not contact_ids:
        return {}
    rows = await session.execute(
        select(WorkItem.contact_id, WorkItem.agent_id, WorkItem.assigned_at)
        .where(
            WorkItem.account_id == account_id,
            WorkItem.contact_id.in_(sorted(set(contact_ids))),
            WorkItem.agent_id.is_not(None),
            WorkItem.assigned_at >= since,
        )
        .order_by(WorkItem.assigned_at.desc(), WorkItem.id.desc())
    )
    out: dict[int, tuple[int, datetime]] = {}
    for contact_id, agent_id, assigned_at in rows:
        if agent_id is not None and assigned_at is not None:
            out.setdefault(contact_id, (agent_id, assigned_at))
    return out


async def active_items(session: AsyncSession, account_id: int) -> Sequence[WorkItem]:
    rows = await session.scalars(
        select(WorkItem)
        .where(WorkItem.account_id == account_id, WorkItem.status.in_(ACTIVE_WORK))
        .order_by(WorkItem.id)
    )
    return rows.all()


async def ended_elsewhere(
    session: AsyncSession, account_id: int
) -> Sequence[tuple[WorkItem, Conversation]]:
    """Active WorkItems whose conversation was resolved, or taken or handed on by hand."""
    rows = await session.execute(
        select(WorkItem, Conversation)
        .join(Conversation, Conversation.id == WorkItem.conversation_id)
        .where(
            WorkItem.account_id == account_id,
            WorkItem.status.in_(ACTIVE_WORK),
            (Conversation.status != "open")
            | and_(WorkItem.status != "assigned", Conversation.assignee_id.is_not(None))
            | and_(
                WorkItem.status == "assigned",
                Conversation.assignee_id.is_distinct_from(WorkItem.agent_id),
            ),
        )
        .order_by(WorkItem.id)
    )
    return [(row[0], row[1]) for row in rows]


async def offers_by_id(
    session: AsyncSession, ids: Sequence[int], *, lock: bool
) -> dict[int, Offer]:
    if not ids:
        return {}
    query = select(Offer).where(Offer.id.in_(sorted(ids))).order_by(Offer.id)
    if lock:
        # An agent's answer waits for this round: it then finds the offer timed out or not.
        query = query.with_for_update()
    return {o.id: o for o in await session.scalars(query)}


async def items_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, WorkItem]:
    if not ids:
        return {}
    rows = await session.scalars(select(WorkItem).where(WorkItem.id.in_(sorted(set(ids)))))
    return {w.id: w for w in rows}


async def list_offers(session: AsyncSession, principal: Principal) -> list[tuple[Offer, WorkItem]]:
    """The caller's pending offers; a supervisor's view holds every agent's."""
    query = (
        select(Offer, WorkItem)
        .join(WorkItem, WorkItem.id == Offer.work_item_id)
        .where(Offer.account_id == principal.account_id, Offer.status == "pending")
    )
    if not principal.is_supervisor:
        query = query.where(Offer.agent_id == principal.user_id)
    return [(row[0], row[1]) for row in await session.execute(query.order_by(Offer.id))]


async def pending_transfers(session: AsyncSession, account_id: int) -> Sequence[WorkItem]:
    rows = await session.scalars(
        select(WorkItem)
        .where(
            WorkItem.account_id == account_id,
            WorkItem.status.in_(ACTIVE_WORK),
            WorkItem.pending_transfer.is_not(None),
        )
        .order_by(WorkItem.id)
    )
    return rows.all()


# Out of hours ------------------------------------------------------------------------------


async def out_of_hours_applied(
    session: AsyncSession, conversation_ids: Sequence[int], event_type: str
) -> dict[int, set[str | None]]:
    """For each conversation, the closed periods (named by their ``opens_at``) in which an
    out-of-hours action was applied to it."""
    applied: dict[int, set[str | None]] = {}
    if not conversation_ids:
        return applied
    rows = await session.execute(
        select(Event.conversation_id, Event.data).where(
            Event.conversation_id.in_(sorted(set(conversation_ids))), Event.type == event_type
        )
    )
    for conversation_id, data in rows:
        if conversation_id is not None:
            applied.setdefault(conversation_id, set()).add((data or {}).get("opens_at"))
    return applied


async def brought_by_customer(
    session: AsyncSession, conversation_ids: Sequence[int], new_item_ids: Sequence[int]
) -> set[int]:
    """The conversations whose new work a customer's message brought: they have an inbound
    message, and no earlier WorkItem of theirs was enqueued after it (work that an agent
    handed back to routing re-enters without one)."""
    wanted = sorted(set(conversation_ids))
    if not wanted:
        return set()
    last_message = await session.execute(
        select(Message.conversation_id, func.max(Message.created_at))
        .where(Message.conversation_id.in_(wanted), Message.direction == "inbound")
        .group_by(Message.conversation_id)
    )
    last_item: dict[int, datetime] = {
        conversation_id: enqueued
        for conversation_id, enqueued in await session.execute(
            select(WorkItem.conversation_id, func.max(WorkItem.enqueued_at))
            .where(
                WorkItem.conversation_id.in_(wanted),
                WorkItem.id.not_in(sorted(set(new_item_ids))),
            )
            .group_by(WorkItem.conversation_id)
        )
    }
    brought = set()
    for conversation_id, written in last_message:
        previous = last_item.get(conversation_id)
        if written is not None and (
            previous is None or ensure_utc(previous) <= ensure_utc(written)
        ):
            brought.add(conversation_id)
    return brought


# Abandonment -------------------------------------------------------------------------------


async def contacts_left(
    session: AsyncSession, conversation_ids: Sequence[int]
) -> dict[int, datetime]:
    """The conversations whose customer left after their last message, and when they left
    (``conversation.contact_left``, recorded by the channels)."""
    return await conversations_repo.contacts_left(
        session,
        conversation_ids,
        left=conversation_events.CONTACT_LEFT,
        received=conversation_events.MESSAGE_RECEIVED,
    )
