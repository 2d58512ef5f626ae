from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.events.models import Event


async def list_after(
    session: AsyncSession, account_id: int, after_id: int, *, limit: int = 1000
) -> Sequence[Event]:
    rows = await session.scalars(
        select(Event)
        .where(Event.account_id == account_id, Event.id > after_id)
        .order_by(Event.id)
        .limit(limit)
    )
    return rows.all()


async def list_for_conversation(
    session: AsyncSession, account_id: int, conversation_id: int
) -> Sequence[Event]:
    rows = await session.scalars(
        select(Event)
        .where(Event.account_id == account_id, Event.conversation_id == conversation_id)
        .order_by(Event.id)
    )
    return rows.all()


async def list_for_contact(
    session: AsyncSession, account_id: int, contact_id: int, *, limit: int = 200
) -> Sequence[Event]:
    rows = await session.scalars(
        select(Event)
        .where(Event.account_id == account_id, Event.contact_id == contact_id)
        .order_by(Event.id.desc())
        .limit(limit)
    )
    return rows.all()
