"""Inbound for the API channel: your system posts a customer's messages, and reports a customer
who left, with an API token."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response, status

from omnidesk.accounts.principal import Principal
from omnidesk.channels.api.adapter import ApiChannel, to_inbound
from omnidesk.channels.api.schemas import ApiContactLeftIn, ApiContactLeftOut, ApiInboundIn
from omnidesk.channels.base import Departure, InboundSender
from omnidesk.conversations import service as conversations
from omnidesk.conversations.schemas import MessageOut
from omnidesk.conversations.service import InboundItem
from omnidesk.kit.types import RowId
from omnidesk.web import lane
from omnidesk.web.auth import PrincipalDep, principal_of
from omnidesk.web.deps import ClockDep, ContainerDep, SessionDep

if TYPE_CHECKING:
    from omnidesk.bootstrap import Container

router = APIRouter(prefix="/api/v1", tags=["api channel"])


@router.post(
    "/inboxes/{inbox_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageOut,
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
    container: ContainerDep,
) -> Response:
    return await _receive(container, principal, inbox_id, body)


async def receive_message_in_lane(request: Request) -> Response | None:
    """:func:`receive_message` for a bearer token and a JSON body, in the fast lane."""
    if not lane.takes_json_with_token(request):
        return None
    container: Container = request.app.state.container
    principal = await principal_of(request, container)
    body = await lane.json_body(request, ApiInboundIn)
    return await _receive(container, principal, request.path_params["inbox_id"], body)


#: Served in the fast lane (omnidesk/web/lane.py): integrations post hundreds a second.
LANE = (lane.LaneRoute("POST", "/api/v1/inboxes/{inbox_id}/messages", receive_message_in_lane),)


async def _receive(
    container: Container, principal: Principal, inbox_id: int, body: ApiInboundIn
) -> Response:
    assert container.inbound is not None
    item = InboundItem(
        account_id=principal.account_id,
        inbox_id=inbox_id,
        inbound=to_inbound(body),
        channel_type=ApiChannel.name,
        # Every handle is checked, so that a bad one is a 422 on its own field rather than
        # a contact silently created without it.
        handle_fields=tuple(f"sender.{name}" for _, name, _ in body.sender.handles()),
    )
    result = await container.inbound.receive(item)
    # Serialised here, once, from the event's payload when there is one: FastAPI's second
    # validation of the response would only repeat the work (this endpoint is the busiest).
    if result.message_json is not None:
        content = json.dumps(result.message_json, separators=(",", ":"), ensure_ascii=False)
    else:
        content = conversations.message_out(result.message).model_dump_json()
    return Response(
        content,
        status_code=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        media_type="application/json",
    )


@router.post(
    "/inboxes/{inbox_id}/contact-left",
    response_model=ApiContactLeftOut,
    summary="Report that a customer left before an agent answered (idempotent)",
    description="Call it when your customer goes away while waiting — closes the chat, hangs "
    "up. The conversation is found like the customer's messages (`sender` handle, "
    "`thread_id`). If it was waiting for an agent, it becomes `pending` and the router removes "
    "its work from the queue (withdrawing an offer made to an agent) and counts it "
    "**abandoned** in the routing statistics; if an agent already holds it, only the event "
    "`conversation.contact_left` is recorded. Reporting again before the customer writes "
    "again changes nothing (`already_reported`).",
    responses={
        404: {"description": "No such inbox in the caller's account, or no such conversation"},
        422: {"description": "Not an API inbox, or the payload is invalid"},
    },
)
async def contact_left(
    inbox_id: RowId,
    body: ApiContactLeftIn,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> ApiContactLeftOut:
    kind, name, value = body.sender.handles()[0]
    result = await conversations.report_departure(
        session,
        clock,
        account_id=principal.account_id,
        inbox_id=inbox_id,
        departure=Departure(
            sender=InboundSender(kind=kind, value=value, name=body.sender.name),
            thread_id=body.thread_id,
            reason=body.reason,
        ),
        channel_type=ApiChannel.name,
        handle_field=f"sender.{name}",
    )
    return ApiContactLeftOut(
        conversation_id=result.conversation.id,
        conversation_status=result.conversation.status,
        left_at=result.left_at,
        already_reported=not result.recorded,
    )
