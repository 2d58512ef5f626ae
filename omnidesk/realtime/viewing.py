"""The agents' side of collision presence: say you are viewing a conversation, and ask who
else is (``viewers.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from omnidesk.accounts import repository as accounts_repo
from omnidesk.conversations import service as conversations
from omnidesk.kit.errors import ServiceUnavailable
from omnidesk.kit.types import RowId
from omnidesk.realtime import viewers
from omnidesk.realtime.viewers import ViewersOut
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ContainerDep

router = APIRouter(prefix="/api/v1", tags=["conversations"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such conversation the caller may see"},
    503: {"description": "The presence registry cannot be reached"},
}


class ViewingIn(BaseModel):
    viewing: bool = Field(
        description="true when the conversation is open on your screen (renew it within "
        "`viewing_ttl_s`, 30 s by default), false when you leave it."
    )


@router.post(
    "/conversations/{conversation_id}/viewing",
    summary="You are viewing a conversation, or left it (collision indicator)",
    description="Live only, never stored: the agents who may see the conversation and the "
    "supervisors get `conversation.viewers` on `/ws` — who is viewing and who is typing, each "
    "with `expires_in_s` — and the answer is the same list. A supervisor watching a "
    "conversation shows up with the role `supervisor`.",
    responses=RESPONSES,
)
async def set_viewing(
    conversation_id: RowId, body: ViewingIn, principal: PrincipalDep, container: ContainerDep
) -> ViewersOut:
    async with container.db.transaction() as session:
        conversation = await conversations.get_conversation(session, principal, conversation_id)
        user = (
            await accounts_repo.get_user(session, principal.account_id, principal.user_id)
            if principal.user_id is not None
            else None
        )
    result = await viewers.changed(
        container,
        conversation,
        principal,
        user.name if user is not None else "",
        "viewing",
        on=body.viewing,
        ttl_s=container.settings.viewing_ttl_s,
    )
    if result is None:
        raise ServiceUnavailable("who is viewing is unknown right now")
    return result


@router.get(
    "/conversations/{conversation_id}/viewers",
    summary="Who is viewing or typing in a conversation now",
    description="What the last `conversation.viewers` frame said, without the entries that "
    "lapsed since: for a desktop that just opened the conversation.",
    responses=RESPONSES,
)
async def get_viewers(
    conversation_id: RowId, principal: PrincipalDep, container: ContainerDep
) -> ViewersOut:
    async with container.db.transaction() as session:
        conversation = await conversations.get_conversation(session, principal, conversation_id)
    return await viewers.current(container, conversation)
