"""Queries the websocket needs beyond ``events.repository``."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.events.models import Event


async def latest_event_id(session: AsyncSession, account_id: int) -> int:
    """The account's newest event id, 0 when it has none (uses ix_events_account_id_id)."""
    found = await session.scalar(select(func.max(Event.id)).where(Event.account_id == account_id))
    return found or 0
