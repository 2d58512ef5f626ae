from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.inboxes.models import Inbox


async def get_inbox(session: AsyncSession, account_id: int, inbox_id: int) -> Inbox | None:
    return await session.scalar(
        select(Inbox).where(Inbox.account_id == account_id, Inbox.id == inbox_id)
    )


async def list_inboxes(session: AsyncSession, account_id: int) -> Sequence[Inbox]:
    return (
        await session.scalars(
            select(Inbox).where(Inbox.account_id == account_id).order_by(Inbox.id)
        )
    ).all()
