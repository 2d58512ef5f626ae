"""WorkItems and Offers: the rows behind the router's decisions, and agents' answers to offers.

The router (``routing/router.py``) makes offers and writes its decisions here; an agent's
accept or decline is a conditional update that the database arbitrates against the router
timing the same offer out (docs/adr/0008-router-runtime.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts import repository as accounts_repo
from omnidesk.accounts.principal import Principal
from omnidesk.conversations import repository as conversations_repo
from omnidesk.conversations import service as conversations
from omnidesk.conversations.models import Conversation
from omnidesk.events import service as events
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from omnidesk.routing import events as ev
from omnidesk.routing import repository as repo
from omnidesk.routing.models import ACTIVE_WORK, Offer, Queue, WorkItem


def at(seconds: float) -> datetime:
    """The engine's virtual time (epoch seconds) as a datetime."""
    return datetime.fromtimestamp(seconds, UTC)


async def record(
    session: AsyncSession,
    clock: Clock,
    type: str,
    item: WorkItem,
    data: dict[str, Any],
    *,
    agent_id: int | None = None,
    actor_user_id: int | None = None,
) -> None:
    """An event about a WorkItem: seen by supervisors and, when named, by its agent."""
    await events.record(
        session,
        account_id=item.account_id,
        type=type,
        audience="conversation" if agent_id is not None else "supervisors",
        conversation_id=item.conversation_id,
        contact_id=item.contact_id,
        assignee_id=agent_id,
        actor_user_id=actor_user_id,
        data={"work_item_id": item.id, "queue_id": item.queue_id, **data},
        clock=clock,
    )


async def assign_conversation(
    session: AsyncSession,
    clock: Clock,
    item: WorkItem,
    agent_id: int | None,
    *,
    actor_user_id: int | None = None,
) -> None:
    """The conversation follows its WorkItem: assigned to the agent, or back to nobody."""
    conversation = await session.get(Conversation, item.conversation_id)
    if conversation is not None:
        await conversations.assign(
            session,
            clock,
            conversation,
            agent_id,
            conversation.team_id,
            actor_user_id=actor_user_id,
            context={"work_item_id": item.id},
        )


# Agents' answers ---------------------------------------------------------------------------


async def _answer(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    offer_id: int,
    status: str,
    reason: str | None,
) -> tuple[Offer, WorkItem]:
    offer = await session.scalar(
        select(Offer).where(Offer.id == offer_id, Offer.account_id == principal.account_id)
    )
    if offer is None or offer.agent_id != principal.user_id:
        # Another agent's offer is not theirs to answer, nor to learn about.
        raise NotFound("offer")
    now = clock.now()
    won = await session.execute(
        update(Offer)
        .where(Offer.id == offer_id, Offer.status == "pending", Offer.expires_at > now)
        .values(status=status, reason=reason, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        await session.refresh(offer)
        state = "expired" if offer.status in ("pending", "timed_out") else offer.status
        raise Conflict(f"the offer is {state}", field="offer_id")
    await session.refresh(offer)
    item = await session.get(WorkItem, offer.work_item_id)
    assert item is not None  # the offer's foreign key
    return offer, item


async def accept(
    session: AsyncSession, clock: Clock, principal: Principal, offer_id: int
) -> tuple[Offer, WorkItem]:
    """The agent takes the work: the conversation is theirs from this commit."""
    offer, item = await _answer(session, clock, principal, offer_id, "accepted", None)
    item.status, item.agent_id, item.assigned_at = "assigned", offer.agent_id, clock.now()
    await record(
        session,
        clock,
        ev.OFFER_ACCEPTED,
        item,
        {"offer_id": offer.id},
        agent_id=offer.agent_id,
        actor_user_id=principal.user_id,
    )
    await assign_conversation(session, clock, item, offer.agent_id, actor_user_id=principal.user_id)
    return offer, item


async def decline(
    session: AsyncSession, clock: Clock, principal: Principal, offer_id: int, reason: str | None
) -> tuple[Offer, WorkItem]:
    """The agent refuses; the router offers the work to someone else."""
    offer, item = await _answer(
        session, clock, principal, offer_id, "declined", reason or "declined"
    )
    await record(
        session,
        clock,
        ev.OFFER_DECLINED,
        item,
        {"offer_id": offer.id, "reason": offer.reason},
        agent_id=offer.agent_id,
        actor_user_id=principal.user_id,
    )
    return offer, item


async def request_transfer(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    conversation_id: int,
    *,
    to_queue_id: int | None,
    to_agent_id: int | None,
    note: str | None,
) -> WorkItem:
    """Hand the conversation on to a queue or an agent; the router moves it next round."""
    conversation = await conversations_repo.get_in_account(
        session, principal.account_id, conversation_id
    )
    if conversation is None:
        raise NotFound("conversation", field="conversation_id")
    if not principal.is_supervisor and conversation.assignee_id != principal.user_id:
        raise Forbidden("only the conversation's agent or a supervisor may transfer it")
    if (to_queue_id is None) == (to_agent_id is None):
        raise ValidationFailed("give to_queue_id or to_agent_id", field="to_queue_id")
    if (
        to_queue_id is not None
        and await repo.get(session, Queue, principal.account_id, to_queue_id) is None
    ):
        raise NotFound("queue", field="to_queue_id")
    if to_agent_id is not None:
        agent = await accounts_repo.get_user(session, principal.account_id, to_agent_id)
        if agent is None or not agent.active:
            raise NotFound("user", field="to_agent_id")
    item = await session.scalar(
        select(WorkItem)
        .where(WorkItem.conversation_id == conversation.id, WorkItem.status.in_(ACTIVE_WORK))
        .with_for_update()
    )
    if item is None:
        raise Conflict(
            "the conversation is not in routing: assign it instead", field="conversation_id"
        )
    if item.pending_transfer is not None:
        raise Conflict(
            "a transfer of this conversation is already under way", field="conversation_id"
        )
    item.pending_transfer = {
        "to_queue_id": to_queue_id,
        "to_agent_id": to_agent_id,
        "note": note,
        "by": principal.user_id,
    }
    await record(
        session,
        clock,
        ev.WORK_TRANSFER_ASKED,
        item,
        {"to_queue_id": to_queue_id, "to_agent_id": to_agent_id, "note": note},
        actor_user_id=principal.user_id,
    )
    return item
