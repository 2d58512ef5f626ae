from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, UploadFile, status
from fastapi.responses import Response
from pydantic import StringConstraints

from omnidesk.conversations import repository as repo
from omnidesk.conversations import service
from omnidesk.conversations.models import Conversation
from omnidesk.conversations.schemas import (
    AttachmentOut,
    ConversationCreate,
    ConversationFilters,
    ConversationOut,
    ConversationUpdate,
    MessageCreate,
    MessageOut,
)
from omnidesk.conversations.vocabulary import Priority, Status
from omnidesk.events import repository as events_repo
from omnidesk.events.schemas import EventOut
from omnidesk.forms import service as forms
from omnidesk.forms.schemas import ApplyFormIn
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import PayloadTooLarge
from omnidesk.kit.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from omnidesk.kit.types import RowId, Text
from omnidesk.sla import service as sla
from omnidesk.sla.schemas import SlaState
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ClockDep, ContainerDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["conversations"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
ChannelType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]


async def _out(
    session: SessionDep, conversations: list[Conversation], clock: Clock
) -> list[ConversationOut]:
    tags = await repo.tags_of(session, [c.id for c in conversations])
    slas = await sla.blocks(session, clock, conversations)
    return [
        service.conversation_out(c, tags[c.id]).model_copy(update={"sla": slas[c.id]})
        for c in conversations
    ]


@router.get("/conversations", summary="List conversations with filters, search and a cursor")
async def list_conversations(
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    status_: Annotated[list[Status], Query(alias="status")] = [],  # noqa: B006
    priority: Annotated[list[Priority], Query()] = [],  # noqa: B006
    assignee: Annotated[Literal["me", "none", "any"] | None, Query()] = None,
    assignee_id: RowId | None = None,
    team_id: RowId | None = None,
    team: Annotated[
        Literal["mine"] | None,
        Query(description="`mine`: the conversations of any of the caller's teams"),
    ] = None,
    inbox_id: RowId | None = None,
    channel: Annotated[
        list[ChannelType],
        Query(max_length=20, description="Conversations in inboxes of these channel types"),
    ] = [],  # noqa: B006
    contact_id: RowId | None = None,
    tag: Annotated[Text | None, Query(max_length=64)] = None,
    q: Annotated[Text | None, Query(max_length=200, description="Full-text search")] = None,
    sla_state: Annotated[
        list[SlaState], Query(description="Having an SLA target in one of these states")
    ] = [],  # noqa: B006
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[ConversationOut]:
    filters = ConversationFilters(
        status=status_,
        priority=priority,
        assignee=assignee,
        assignee_id=assignee_id,
        team_id=team_id,
        team=team,
        inbox_id=inbox_id,
        channel=channel,
        contact_id=contact_id,
        tag=tag,
        q=q,
        sla_state=sla_state,
    )
    rows = list(
        await repo.list_conversations(
            session, principal, filters, cursor=decode_cursor(cursor), limit=limit + 1
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last.last_activity_at.isoformat(), last.id)
    return Page(items=await _out(session, rows, clock), next_cursor=next_cursor)


@router.post(
    "/conversations",
    status_code=status.HTTP_201_CREATED,
    summary="Open a conversation with a contact",
)
async def create_conversation(
    body: ConversationCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> ConversationOut:
    conversation = await service.create_conversation(session, clock, principal, body)
    return (await _out(session, [conversation], clock))[0]


@router.get("/conversations/{conversation_id}", summary="One conversation")
async def get_conversation(
    conversation_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> ConversationOut:
    conversation = await service.get_conversation(session, principal, conversation_id)
    return (await _out(session, [conversation], clock))[0]


@router.patch(
    "/conversations/{conversation_id}",
    summary="Change status (snooze with snoozed_until), priority, assignee, team, tags, fields",
)
async def update_conversation(
    conversation_id: RowId,
    body: ConversationUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> ConversationOut:
    conversation = await service.update_conversation(
        session, clock, principal, conversation_id, body
    )
    return (await _out(session, [conversation], clock))[0]


@router.post(
    "/conversations/{conversation_id}/ticket-form",
    summary="Apply a ticket form to a conversation",
    description="The form becomes the conversation's (its fields are shown, its required "
    "fields block resolving) and its defaults fill in what is blank: fields, subject, the "
    "starting priority, missing tags. Nothing already set is overwritten. Records "
    "`conversation.form_applied`. 404 for an unknown form or conversation.",
)
async def apply_ticket_form(
    conversation_id: RowId,
    body: ApplyFormIn,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> ConversationOut:
    conversation = await forms.apply_to_conversation(
        session, clock, principal, conversation_id, body.form_id
    )
    return (await _out(session, [conversation], clock))[0]


@router.get(
    "/conversations/{conversation_id}/messages",
    summary="Messages and notes of a conversation, oldest first",
)
async def list_messages(
    conversation_id: RowId,
    principal: PrincipalDep,
    session: SessionDep,
    cursor: str | None = None,
    limit: Limit = 100,
) -> Page[MessageOut]:
    conversation = await service.get_conversation(session, principal, conversation_id)
    after = decode_cursor(cursor)
    rows = list(
        await repo.list_messages(
            session, conversation.id, after_id=after.id if after else 0, limit=limit + 1
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(None, rows[-1].id)
    attachments = await repo.attachments_of(session, [m.id for m in rows])
    return Page(
        items=[service.message_out(m, attachments[m.id]) for m in rows], next_cursor=next_cursor
    )


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    summary="Reply to the customer (sent through the outbox) or add an internal note",
)
async def post_message(
    conversation_id: RowId,
    body: MessageCreate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> MessageOut:
    message, attachments = await service.post_message(
        session, clock, principal, conversation_id, body
    )
    return service.message_out(message, attachments)


@router.get("/conversations/{conversation_id}/events", summary="The conversation's event history")
async def conversation_events(
    conversation_id: RowId, principal: PrincipalDep, session: SessionDep
) -> list[EventOut]:
    conversation = await service.get_conversation(session, principal, conversation_id)
    rows = await events_repo.list_for_conversation(session, principal.account_id, conversation.id)
    return [EventOut.model_validate(e) for e in rows]


@router.post(
    "/attachments",
    status_code=status.HTTP_201_CREATED,
    tags=["attachments"],
    summary="Upload a file to attach to a message (multipart field `file`)",
)
async def upload_attachment(
    file: UploadFile,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    container: ContainerDep,
) -> AttachmentOut:
    limit = settings.attachments.max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"attachments may be at most {limit} bytes", field="file")
    attachment = await service.upload_attachment(
        session,
        clock,
        principal,
        container.storage,
        settings.attachments,
        filename=file.filename or "attachment",
        content_type=file.content_type or "",
        data=data,
    )
    return AttachmentOut.model_validate(attachment)


@router.get(
    "/attachments/{attachment_id}",
    tags=["attachments"],
    summary="Download an attachment",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_attachment(
    attachment_id: RowId, principal: PrincipalDep, session: SessionDep, container: ContainerDep
) -> Response:
    attachment = await service.get_attachment(session, principal, attachment_id)
    data = await container.storage.get(attachment.storage_key)
    # Served as a download, never rendered inline, so an uploaded HTML file cannot run script.
    return Response(
        data,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(attachment.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
