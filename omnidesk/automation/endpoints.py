from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from omnidesk.automation import service, templates
from omnidesk.automation.schemas import (
    CannedResponseCreate,
    CannedResponseOut,
    CannedResponseUpdate,
    RenderedOut,
    VariableOut,
)
from omnidesk.kit.errors import BadRequest
from omnidesk.kit.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from omnidesk.kit.types import RowId, Text
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["canned responses"])

VISIBILITY = (
    "An agent sees the account's shared responses, their teams' and their own personal ones; "
    "an admin sees every shared one (account and teams) and their own. Nobody sees another "
    "agent's personal responses."
)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such canned response the caller may see"}
}


@router.get(
    "/canned-responses/variables",
    summary="The variables a canned response's body may use",
    description="Besides these, `{{contact.attributes.<key>}}` is any custom attribute of "
    "the contact. A variable without a value is filled in as the empty string.",
)
async def list_variables(principal: PrincipalDep) -> list[VariableOut]:
    return [
        VariableOut(name=name, description=description)
        for name, description in templates.VARIABLES.items()
    ] + [
        VariableOut(
            name=templates.ATTRIBUTE_PREFIX + "<key>",
            description="one of the contact's custom attributes",
        )
    ]


@router.get(
    "/canned-responses",
    summary="Canned responses the caller may use, by shortcut",
    description=VISIBILITY + " `q` keeps those whose shortcut or title starts with it "
    "(any case): what the agent typed after `/`.",
)
async def list_canned_responses(
    principal: PrincipalDep,
    session: SessionDep,
    q: Annotated[Text | None, Query(max_length=200, description="Shortcut or title prefix")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Page[CannedResponseOut]:
    after = decode_cursor(cursor)
    if after is not None and not isinstance(after.key, str):
        raise BadRequest("cursor is not valid", field="cursor")
    rows = list(
        await service.list_canned(
            session,
            principal,
            q=q.strip() if q else None,
            after=(after.key, after.id) if after is not None else None,
            limit=limit + 1,
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].shortcut, rows[-1].id)
    return Page(items=[CannedResponseOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/canned-responses",
    status_code=status.HTTP_201_CREATED,
    summary="Create a canned response (shared ones: admin)",
    description="Anyone may create a personal response; only admins create the account's or "
    "a team's. A shortcut is unique within its scope (409). A body naming a variable that "
    "does not exist is refused (422, field `body`).",
)
async def create_canned_response(
    body: CannedResponseCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> CannedResponseOut:
    canned = await service.create_canned(session, clock, principal, body)
    return CannedResponseOut.model_validate(canned)


@router.get(
    "/canned-responses/{canned_response_id}",
    summary="One canned response",
    description=VISIBILITY,
    responses=NOT_FOUND,
)
async def get_canned_response(
    canned_response_id: RowId, principal: PrincipalDep, session: SessionDep
) -> CannedResponseOut:
    return CannedResponseOut.model_validate(
        await service.get_canned(session, principal, canned_response_id)
    )


@router.patch(
    "/canned-responses/{canned_response_id}",
    summary="Change a canned response (shared: admin; personal: its owner)",
    description="Shortcut, title or body; the scope stays.",
    responses=NOT_FOUND,
)
async def update_canned_response(
    canned_response_id: RowId,
    body: CannedResponseUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> CannedResponseOut:
    canned = await service.update_canned(session, clock, principal, canned_response_id, body)
    return CannedResponseOut.model_validate(canned)


@router.delete(
    "/canned-responses/{canned_response_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a canned response (shared: admin; personal: its owner)",
    responses=NOT_FOUND,
)
async def delete_canned_response(
    canned_response_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.delete_canned(session, clock, principal, canned_response_id)


@router.post(
    "/conversations/{conversation_id}/canned-responses/{canned_response_id}/render",
    tags=["conversations"],
    summary="A canned response filled in for a conversation and the calling agent",
    description="Replaces each variable with its value for this conversation's contact and "
    "the caller (`{{agent.name}}`); a variable without a value becomes empty and is listed in "
    "`missing`. Values are inserted as text, never interpreted. Nothing is sent or stored.",
    responses={404: {"description": "No such conversation or canned response the caller may see"}},
)
async def render_canned_response(
    conversation_id: RowId,
    canned_response_id: RowId,
    principal: PrincipalDep,
    session: SessionDep,
) -> RenderedOut:
    canned, rendered = await service.render(session, principal, conversation_id, canned_response_id)
    return RenderedOut(
        canned_response_id=canned.id,
        conversation_id=conversation_id,
        text=rendered.text,
        missing=rendered.missing,
    )
