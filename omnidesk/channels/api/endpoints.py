"""Inbound for the API channel: your system posts a customer's message with an API token."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from omnidesk.channels.api.adapter import ApiChannel, to_inbound
from omnidesk.channels.api.schemas import ApiInboundIn
from omnidesk.contacts import service as contacts
from omnidesk.conversations import service as conversations
from omnidesk.conversations.schemas import MessageOut
from omnidesk.inboxes import service as inboxes
from omnidesk.kit.errors import ValidationFailed
from omnidesk.kit.types import RowId
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["api channel"])


@router.post(
    "/inboxes/{inbox_id}/messages",
    status_code=status.HTTP_201_CREATED,
    summary="Post a customer's message into an API inbox (idempotent on external_id)",
    responses={
        200: {"model": MessageOut, "description": "Already received: the stored message"},
        404: {"description": "No such inbox in the caller's account"},
        422: {"description": "Not an API inbox, or the payload is invalid"},
    },
)
async def receive_message(
    inbox_id: RowId,
    body: ApiInboundIn,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
) -> MessageOut:
    inbox = await inboxes.get_inbox(session, principal, inbox_id)
    if inbox.channel_type != ApiChannel.name:
        raise ValidationFailed("this inbox is not an API inbox", field="inbox_id")
    # Check every handle now, so that a bad one is a 422 on its own field rather than a
    # contact silently created without it.
    region = await contacts.phone_region(session, inbox.account_id)
    for kind, name, value in body.sender.handles():
        try:
            contacts.normalise_identity(kind, value, region)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field=f"sender.{name}") from None
    result = await conversations.receive_inbound(
        session, clock, inbox=inbox, inbound=to_inbound(body)
    )
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return conversations.message_out(result.message)
