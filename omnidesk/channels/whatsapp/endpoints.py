"""WhatsApp message templates: sync from Meta, list, preview and send."""

from __future__ import annotations

from fastapi import APIRouter, status

from omnidesk.channels.whatsapp import service
from omnidesk.channels.whatsapp.schemas import (
    TemplateChoice,
    TemplateOut,
    TemplatePreview,
    TemplateSyncOut,
)
from omnidesk.conversations import service as conversations
from omnidesk.conversations.schemas import MessageOut
from omnidesk.kit.types import RowId
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ClockDep, ContainerDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["whatsapp templates"])


@router.post(
    "/inboxes/{inbox_id}/templates/sync",
    summary="Fetch a WhatsApp inbox's message templates from Meta (admin)",
    description="Reads every template of the inbox's WhatsApp Business Account "
    "(`GET /{waba-id}/message_templates`) and replaces the stored list: new ones are added, "
    "changed ones updated (their review status too), vanished ones removed. Not a WhatsApp "
    "inbox, or credentials Meta refuses: 422; Meta unreachable: 503.",
)
async def sync_templates(
    inbox_id: RowId,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    container: ContainerDep,
) -> TemplateSyncOut:
    return await service.sync_templates(
        session,
        clock,
        principal,
        inbox_id,
        secret_box=container.secret_box,
        settings=container.settings,
    )


@router.get(
    "/inboxes/{inbox_id}/templates",
    summary="A WhatsApp inbox's message templates, as last synced",
    description="Every template in every language, with its review status, whether it can "
    "be sent (`usable`) and the variables to fill.",
)
async def list_templates(
    inbox_id: RowId, principal: PrincipalDep, session: SessionDep
) -> list[TemplateOut]:
    return [
        service.template_out(t) for t in await service.list_templates(session, principal, inbox_id)
    ]


@router.post(
    "/conversations/{conversation_id}/templates/preview",
    summary="The text a template will show the customer, with its variables filled",
    description="Nothing is sent. An unknown template: 404; one that cannot be sent, a "
    "variable without a value (named in `field`, e.g. `variables.body.2`) or an unknown "
    "one: 422.",
)
async def preview_template(
    conversation_id: RowId, body: TemplateChoice, principal: PrincipalDep, session: SessionDep
) -> TemplatePreview:
    return await service.preview(session, principal, conversation_id, body)


@router.post(
    "/conversations/{conversation_id}/templates",
    status_code=status.HTTP_201_CREATED,
    summary="Reply with an approved WhatsApp template (also outside the 24-hour window)",
    description="Stores an outbound message whose body is the rendered text and sends the "
    "template through the outbox. The same refusals as the preview.",
)
async def send_template(
    conversation_id: RowId,
    body: TemplateChoice,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> MessageOut:
    message, attachments = await service.send_template(
        session, clock, principal, conversation_id, body
    )
    return conversations.message_out(message, attachments)
