from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.categorisation.models import CategoryRule


async def list_rules(session: AsyncSession, account_id: int) -> Sequence[CategoryRule]:
    query = select(CategoryRule).where(CategoryRule.account_id == account_id)
    return (await session.scalars(query.order_by(CategoryRule.position, CategoryRule.id))).all()


async def active_rules(session: AsyncSession, account_ids: Iterable[int]) -> Sequence[CategoryRule]:
    """The active rules of these accounts, in order (one query per inbound batch)."""
    ids = sorted(set(account_ids))
    if not ids:
        return []
    query = select(CategoryRule).where(
        CategoryRule.account_id.in_(ids), CategoryRule.active.is_(True)
    )
    return (await session.scalars(query.order_by(CategoryRule.position, CategoryRule.id))).all()


async def get_rule(session: AsyncSession, account_id: int, rule_id: int) -> CategoryRule | None:
    return await session.scalar(
        select(CategoryRule).where(
            CategoryRule.account_id == account_id, CategoryRule.id == rule_id
        )
    )
