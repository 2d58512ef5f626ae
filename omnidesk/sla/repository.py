"""Every query of the SLA context."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.sla.models import SlaClock, SlaPolicy


async def list_policies(
    session: AsyncSession, account_id: int, *, active_only: bool = False
) -> Sequence[SlaPolicy]:
    """In the order they are tried: by position, then by id."""
    query = select(SlaPolicy).where(SlaPolicy.account_id == account_id)
    if active_only:
        query = query.where(SlaPolicy.active.is_(True))
    return (await session.scalars(query.order_by(SlaPolicy.position, SlaPolicy.id))).all()


async def get_policy(session: AsyncSession, account_id: int, policy_id: int) -> SlaPolicy | None:
    return await session.scalar(
        select(SlaPolicy).where(SlaPolicy.account_id == account_id, SlaPolicy.id == policy_id)
    )


async def name_taken(
    session: AsyncSession, account_id: int, name: str, *, except_id: int | None = None
) -> bool:
    query = select(SlaPolicy.id).where(SlaPolicy.account_id == account_id, SlaPolicy.name == name)
    if except_id is not None:
        query = query.where(SlaPolicy.id != except_id)
    return await session.scalar(query.limit(1)) is not None


async def policies_using_hours(
    session: AsyncSession, account_id: int, business_hours_id: int
) -> list[str]:
    """The names of the policies that count in these business hours."""
    rows = await session.scalars(
        select(SlaPolicy.name).where(
            SlaPolicy.account_id == account_id, SlaPolicy.business_hours_id == business_hours_id
        )
    )
    return sorted(rows)


async def clocks_of(
    session: AsyncSession,
    conversation_ids: Collection[int],
    *,
    unfinished: bool = False,
    lock: bool = False,
) -> Sequence[SlaClock]:
    """The conversations' clocks, oldest first; ``unfinished``: those not yet achieved;
    ``lock``: row-locked and read afresh (a change must not overwrite a breach that the
    timer recorded meanwhile)."""
    if not conversation_ids:
        return []
    query = select(SlaClock).where(SlaClock.conversation_id.in_(conversation_ids))
    if unfinished:
        query = query.where(SlaClock.achieved_at.is_(None))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.scalars(query.order_by(SlaClock.id))).all()


async def get_clock(session: AsyncSession, clock_id: int, *, lock: bool = False) -> SlaClock | None:
    query = select(SlaClock).where(SlaClock.id == clock_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def clocks_of_policy(session: AsyncSession, policy_id: int) -> Sequence[SlaClock]:
    return (await session.scalars(select(SlaClock).where(SlaClock.policy_id == policy_id))).all()


def conversations_in_states(account_id: int, states: Collection[str]) -> Select[Any]:
    """The ids of the account's conversations with a clock in one of ``states`` (indexed)."""
    return select(SlaClock.conversation_id).where(
        SlaClock.account_id == account_id, SlaClock.state.in_(states)
    )


async def report(
    session: AsyncSession, policy_id: int, since: datetime, until: datetime
) -> dict[str, tuple[int, int, int]]:
    """Per kind, of the clocks started in ``[since, until)``: (achieved on time, breached,
    neither yet)."""
    achieved = (SlaClock.achieved_at.is_not(None)) & (SlaClock.breached_at.is_(None))
    breached = SlaClock.breached_at.is_not(None)
    rows = await session.execute(
        select(
            SlaClock.kind,
            func.sum(case((achieved, 1), else_=0)),
            func.sum(case((breached, 1), else_=0)),
            func.count(),
        )
        .where(
            SlaClock.policy_id == policy_id,
            SlaClock.started_at >= since,
            SlaClock.started_at < until,
        )
        .group_by(SlaClock.kind)
    )
    out: dict[str, tuple[int, int, int]] = {}
    for kind, on_time, late, total in rows:
        on_time, late = int(on_time or 0), int(late or 0)
        out[kind] = (on_time, late, int(total) - on_time - late)
    return out
