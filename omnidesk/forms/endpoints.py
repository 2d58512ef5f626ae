from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from omnidesk.forms import repository as repo
from omnidesk.forms import service
from omnidesk.forms.schemas import TicketFormCreate, TicketFormOut, TicketFormUpdate
from omnidesk.kit.types import RowId
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["ticket forms"])

FormId = Annotated[RowId, Path(description="The ticket form's id.")]
WRITE = (
    " Admins only (403 otherwise). A field key that is not a conversation attribute "
    "definition, a default of the wrong type or an option not in its list is a 422 on "
    "`fields.<i>.key` or `fields.<i>.default`; an inbox of another account a 404 and an "
    "inbox that already has another form a 409 on `inbox_ids`; a name already used a 409."
)


@router.get(
    "/ticket-forms",
    summary="List ticket forms",
    description="Every user of the account may read them (agents apply them).",
)
async def list_forms(principal: PrincipalDep, session: SessionDep) -> list[TicketFormOut]:
    forms = await repo.list_forms(session, principal.account_id)
    return await service.outs(session, principal.account_id, forms)


@router.post(
    "/ticket-forms",
    status_code=status.HTTP_201_CREATED,
    summary="Create a ticket form (admin)",
    description="A named, ordered set of conversation fields with defaults." + WRITE,
)
async def create_form(
    body: TicketFormCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> TicketFormOut:
    form = await service.create_form(session, clock, principal, body)
    return (await service.outs(session, principal.account_id, [form]))[0]


@router.get("/ticket-forms/{form_id}", summary="One ticket form")
async def get_form(form_id: FormId, principal: PrincipalDep, session: SessionDep) -> TicketFormOut:
    form = await service.get_form(session, principal, form_id)
    return (await service.outs(session, principal.account_id, [form]))[0]


@router.patch(
    "/ticket-forms/{form_id}",
    summary="Change a ticket form (admin)",
    description="Only the given keys change; `inbox_ids` replaces the form's inboxes." + WRITE,
)
async def update_form(
    form_id: FormId,
    body: TicketFormUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> TicketFormOut:
    form = await service.update_form(session, clock, principal, form_id, body)
    return (await service.outs(session, principal.account_id, [form]))[0]


@router.delete(
    "/ticket-forms/{form_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a ticket form (admin)",
    description="Conversations keep the values filled in; they no longer show the form.",
)
async def delete_form(
    form_id: FormId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.delete_form(session, clock, principal, form_id)
