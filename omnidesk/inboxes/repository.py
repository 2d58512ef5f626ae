from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.inboxes.models import Inbox


async def get_inbox(session: AsyncSession, account_id: int, inbox_id: int) -> Inbox | None:
    return await session.scalar(
        select(Inbox).where(Inbox.account_id == account_id, Inbox.id == inbox_id)
    )


# Built once: the inbound writer runs it for every batch (see kit/db.py, "prebuilt").
_INBOXES = select(Inbox).where(Inbox.id.in_(bindparam("ids", expanding=True)))


async def get_inboxes(session: AsyncSession, inbox_ids: Iterable[int]) -> dict[int, Inbox]:
    """Inboxes by id, whatever their account: callers check the account of each."""
    ids = sorted(set(inbox_ids))
    if not ids:
        return {}
    return {inbox.id: inbox for inbox in await session.scalars(_INBOXES, {"ids": ids})}


async def list_inboxes(session: AsyncSession, account_id: int) -> Sequence[Inbox]:
    return (
        await session.scalars(
            select(Inbox).where(Inbox.account_id == account_id).order_by(Inbox.id)
        )
    ).all()


async def inbox_ids_with_config(
    session: AsyncSession, channel_type: str, key: str, value: str
) -> list[int]:
    """The ids of the installation's inboxes of ``channel_type`` whose config holds
    ``value`` under ``key`` (public handles, unique across accounts)."""
    rows = await session.scalars(
        select(Inbox.id)
        .where(Inbox.channel_type == channel_type, Inbox.config[key].as_string() == value)
        .order_by(Inbox.id)
    )
    return list(rows)
