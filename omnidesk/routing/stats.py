"""Live queue and agent statistics for the wallboard, from the router's rows.

Definitions (docs/routing.md): a WorkItem is *answered* when an agent took it and
*abandoned* when the customer left first (their channel reported it: the router then ends the
work ``abandoned``, its wait being from enqueued to ended). Work resolved or closed while
waiting — by an agent, or by the queue's out-of-hours ``close`` — is *cancelled*: neither
answered nor abandoned. With threshold T, ``service_level`` is
answered within T ÷ (answered + abandoned after T) — a customer who gives up within T is
not held against the centre — and ``service_level_abandon_inclusive`` is answered within T
÷ (answered + every abandoned). ASA is the mean wait of the answered.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.models import User
from omnidesk.kit.clock import Clock, ensure_utc
from omnidesk.routing import repository as repo
from omnidesk.routing.models import ACTIVE_WORK, AgentState, Queue, WorkItem
from omnidesk.routing.schemas import AgentCount, QueueStats, RoutingStats


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


async def live(
    session: AsyncSession, clock: Clock, account_id: int, since: datetime, threshold_s: float
) -> RoutingStats:
    now = clock.now()
    queues = await repo.list_all(session, Queue, account_id)
    items = (
        await session.scalars(
            select(WorkItem).where(
                WorkItem.account_id == account_id,
                or_(WorkItem.status.in_(ACTIVE_WORK), WorkItem.enqueued_at >= since),
            )
        )
    ).all()
    per_queue = {q.id: QueueStats(queue_id=q.id, name=q.name) for q in queues}
    waits: dict[int, list[float]] = {q.id: [] for q in queues}
    for item in items:
        stats = per_queue.get(item.queue_id)
        if stats is None:
            continue
        enqueued = ensure_utc(item.enqueued_at)
        if item.status in ("waiting", "offered"):
            stats.waiting += 1
            age = (now - enqueued).total_seconds()
            stats.oldest_wait_s = max(stats.oldest_wait_s or 0.0, round(age, 1))
        if enqueued < since:
            continue
        if item.assigned_at is not None:
            wait = (ensure_utc(item.assigned_at) - enqueued).total_seconds()
            stats.answered += 1
            stats.answered_within_threshold += wait <= threshold_s
            waits[item.queue_id].append(wait)
        elif item.status == "abandoned":
            stats.abandoned += 1
            left = ensure_utc(item.ended_at) if item.ended_at is not None else now
            waited = (left - enqueued).total_seconds()
            stats.abandoned_after_threshold += waited > threshold_s
    for queue_id, stats in per_queue.items():
        answered = stats.answered
        stats.service_level = _ratio(
            stats.answered_within_threshold, answered + stats.abandoned_after_threshold
        )
        stats.service_level_abandon_inclusive = _ratio(
            stats.answered_within_threshold, answered + stats.abandoned
        )
        stats.abandon_rate = _ratio(stats.abandoned, answered + stats.abandoned)
        if waits[queue_id]:
            stats.asa_s = round(sum(waits[queue_id]) / len(waits[queue_id]), 1)
    agents: dict[str, AgentCount] = {}
    # Every active user is counted, as ``GET /routing/agents`` lists them: one who never set a
    # presence is offline (for no known time); a deactivated one is no agent any more.
    rows = await session.execute(
        select(AgentState.presence, AgentState.since)
        .select_from(User)
        .outerjoin(AgentState, AgentState.user_id == User.id)
        .where(User.account_id == account_id, User.active.is_(True))
    )
    for presence, in_state_since in rows:
        count = agents.setdefault(presence or "offline", AgentCount(presence=presence or "offline"))
        count.agents += 1
        if in_state_since is not None:
            in_state_s = (now - ensure_utc(in_state_since)).total_seconds()
            count.longest_in_state_s = max(count.longest_in_state_s, round(in_state_s, 1))
    return RoutingStats(
        at=now,
        since=since,
        threshold_s=threshold_s,
        queues=list(per_queue.values()),
        agents=sorted(agents.values(), key=lambda a: a.presence),
    )
