"""Ticket forms: admins define them, agents apply them to conversations. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.principal import Principal
from omnidesk.contacts import service as contacts
from omnidesk.conversations import fields as conversation_fields
from omnidesk.conversations import service as conversations
from omnidesk.conversations.models import Conversation
from omnidesk.events import service as events
from omnidesk.forms import repository as repo
from omnidesk.forms.models import TicketForm, TicketFormInbox
from omnidesk.forms.schemas import (
    FormFieldIn,
    FormFieldOut,
    TicketFormCreate,
    TicketFormOut,
    TicketFormUpdate,
)
from omnidesk.inboxes import repository as inboxes_repo
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import Conflict, NotFound, ValidationFailed

CREATED = "ticket_form.created"
UPDATED = "ticket_form.updated"
DELETED = "ticket_form.deleted"


def form_out(form: TicketForm, inbox_ids: Sequence[int]) -> TicketFormOut:
    return TicketFormOut(
        id=form.id,
        name=form.name,
        description=form.description,
        fields=[
            FormFieldOut(key=f["key"], required=bool(f.get("required")), default=f.get("default"))
            for f in form.fields
        ],
        subject=form.subject,
        priority=form.priority,
        tags=list(form.tags),
        inbox_ids=list(inbox_ids),
        created_at=form.created_at,
        updated_at=form.updated_at,
    )


async def outs(
    session: AsyncSession, account_id: int, forms: Sequence[TicketForm]
) -> list[TicketFormOut]:
    links = await repo.inbox_links(session, account_id, [f.id for f in forms])
    inboxes: dict[int, list[int]] = {f.id: [] for f in forms}
    for link in links:
        inboxes[link.form_id].append(link.inbox_id)
    return [form_out(f, inboxes[f.id]) for f in forms]


async def get_form(session: AsyncSession, principal: Principal, form_id: int) -> TicketForm:
    form = await repo.get_form(session, principal.account_id, form_id)
    if form is None:
        raise NotFound("ticket form")
    return form


async def _checked_fields(
    session: AsyncSession, account_id: int, items: Sequence[FormFieldIn]
) -> list[dict[str, Any]]:
    """Each key a conversation field, once; each default of its type."""
    defined = await conversation_fields.definitions(session, account_id)
    known = {d.key for d in defined}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, item in enumerate(items):
        path = f"fields.{position}"
        if item.key not in known:
            raise ValidationFailed(
                f"{item.key!r} is not a defined conversation field", field=f"{path}.key"
            )
        if item.key in seen:
            raise ValidationFailed(f"{item.key!r} is listed twice", field=f"{path}.key")
        seen.add(item.key)
        default = None
        if item.default is not None:
            try:
                default = contacts.validate_attributes(
                    defined, {item.key: item.default}, "conversation"
                )[item.key]
            except ValidationFailed as exc:
                raise ValidationFailed(exc.message, field=f"{path}.default") from None
        out.append({"key": item.key, "required": item.required, "default": default})
    return out


def _tags(tags: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(t.strip().lower() for t in tags))


async def _link_inboxes(
    session: AsyncSession, principal: Principal, form: TicketForm, inbox_ids: Sequence[int]
) -> None:
    """Make these the form's inboxes; an inbox of another form is a 409."""
    wanted = list(dict.fromkeys(inbox_ids))
    found = await inboxes_repo.get_inboxes(session, wanted)
    if any(i not in found or found[i].account_id != principal.account_id for i in wanted):
        raise NotFound("inbox", field="inbox_ids")
    taken = [
        link
        for link in await repo.inbox_links(session, principal.account_id)
        if link.inbox_id in wanted and link.form_id != form.id
    ]
    if taken:
        raise Conflict(
            f"inbox {taken[0].inbox_id} already has another ticket form", field="inbox_ids"
        )
    await repo.unlink_inboxes(session, form.id)
    session.add_all(
        TicketFormInbox(inbox_id=i, form_id=form.id, account_id=principal.account_id)
        for i in wanted
    )


async def _flush_unique(session: AsyncSession, form: TicketForm) -> None:
    try:
        async with session.begin_nested():
            session.add(form)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("a ticket form with this name already exists", field="name") from exc


async def _record(
    session: AsyncSession, clock: Clock, principal: Principal, type_: str, form: TicketForm
) -> None:
    await events.record(
        session,
        account_id=principal.account_id,
        type=type_,
        actor_user_id=principal.user_id,
        clock=clock,
        data={"ticket_form_id": form.id, "name": form.name},
    )


async def create_form(
    session: AsyncSession, clock: Clock, principal: Principal, data: TicketFormCreate
) -> TicketForm:
    principal.require("admin")
    now = clock.now()
    form = TicketForm(
        account_id=principal.account_id,
        name=data.name.strip(),
        description=data.description,
        fields=await _checked_fields(session, principal.account_id, data.fields),
        subject=data.subject or None,
        priority=data.priority,
        tags=_tags(data.tags),
        created_at=now,
        updated_at=now,
    )
    await _flush_unique(session, form)
    await _link_inboxes(session, principal, form, data.inbox_ids)
    await _record(session, clock, principal, CREATED, form)
    return form


async def update_form(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    form_id: int,
    data: TicketFormUpdate,
) -> TicketForm:
    principal.require("admin")
    form = await get_form(session, principal, form_id)
    given = data.model_fields_set
    if data.name is not None:
        form.name = data.name.strip()
    if data.description is not None:
        form.description = data.description
    if data.fields is not None:
        form.fields = await _checked_fields(session, principal.account_id, data.fields)
    if "subject" in given:
        form.subject = data.subject or None
    if "priority" in given:
        form.priority = data.priority
    if data.tags is not None:
        form.tags = _tags(data.tags)
    form.updated_at = clock.now()
    await _flush_unique(session, form)
    if data.inbox_ids is not None:
        await _link_inboxes(session, principal, form, data.inbox_ids)
    await _record(session, clock, principal, UPDATED, form)
    return form


async def delete_form(
    session: AsyncSession, clock: Clock, principal: Principal, form_id: int
) -> None:
    """Conversations keep their values; they no longer show a form."""
    principal.require("admin")
    form = await get_form(session, principal, form_id)
    await _record(session, clock, principal, DELETED, form)
    await session.delete(form)


async def apply_to_conversation(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    conversation_id: int,
    form_id: int,
) -> Conversation:
    """An agent chooses the conversation's form: its defaults fill what is blank."""
    conversation = await conversations.get_conversation(session, principal, conversation_id)
    form = await repo.get_form(session, principal.account_id, form_id)
    if form is None:
        raise NotFound("ticket form", field="form_id")
    await conversation_fields.apply_form(
        session, clock, conversation, form, actor_user_id=principal.user_id
    )
    return conversation
