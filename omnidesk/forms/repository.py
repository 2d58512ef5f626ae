from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.forms.models import TicketForm, TicketFormInbox


async def list_forms(session: AsyncSession, account_id: int) -> Sequence[TicketForm]:
    query = select(TicketForm).where(TicketForm.account_id == account_id)
    return (await session.scalars(query.order_by(TicketForm.name, TicketForm.id))).all()


async def get_form(session: AsyncSession, account_id: int, form_id: int) -> TicketForm | None:
    return await session.scalar(
        select(TicketForm).where(TicketForm.account_id == account_id, TicketForm.id == form_id)
    )


async def form_for_inbox(session: AsyncSession, inbox_id: int) -> TicketForm | None:
    """The form a new conversation of this inbox gets (one indexed lookup)."""
    return await session.scalar(
        select(TicketForm)
        .join(TicketFormInbox, TicketFormInbox.form_id == TicketForm.id)
        .where(TicketFormInbox.inbox_id == inbox_id)
    )


async def inbox_links(
    session: AsyncSession, account_id: int, form_ids: Sequence[int] | None = None
) -> Sequence[TicketFormInbox]:
    query = select(TicketFormInbox).where(TicketFormInbox.account_id == account_id)
    if form_ids is not None:
        query = query.where(TicketFormInbox.form_id.in_(form_ids))
    return (await session.scalars(query.order_by(TicketFormInbox.inbox_id))).all()


async def unlink_inboxes(session: AsyncSession, form_id: int) -> None:
    await session.execute(delete(TicketFormInbox).where(TicketFormInbox.form_id == form_id))
