"""Message templates: synced from Meta by an admin, chosen and filled in by agents.

A template is the only thing WhatsApp lets a business send once the customer's 24-hour
window has closed. Sending one stores an ordinary outbound message whose body is the
rendered text (what the agent and the timeline show) and whose metadata holds the template's
name, language and parameters (what the adapter sends).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.principal import Principal
from omnidesk.channels import registry
from omnidesk.channels.base import DeliveryFailed
from omnidesk.channels.whatsapp import templates
from omnidesk.channels.whatsapp.adapter import WhatsappChannel
from omnidesk.channels.whatsapp.models import MessageTemplate
from omnidesk.channels.whatsapp.schemas import (
    TemplateChoice,
    TemplateOut,
    TemplatePreview,
    TemplateSyncOut,
)
from omnidesk.conversations import service as conversations
from omnidesk.conversations.models import Attachment, Conversation, Message
from omnidesk.conversations.schemas import MessageCreate
from omnidesk.events import service as events
from omnidesk.inboxes import service as inboxes
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import NotFound, ServiceUnavailable, ValidationFailed
from omnidesk.kit.security import SecretBox
from omnidesk.settings import Settings

log = structlog.get_logger(__name__)

APPROVED = "APPROVED"
SYNCED = "inbox.templates_synced"


def template_out(row: MessageTemplate) -> TemplateOut:
    reason = unusable_reason(row)
    return TemplateOut(
        id=row.id,
        name=row.name,
        language=row.language,
        status=row.status,
        category=row.category,
        usable=reason is None,
        unusable_reason=reason,
        variables=templates.variables(row.components),
        text=_raw_text(row.components),
        components=row.components,
        synced_at=row.synced_at,
    )


def unusable_reason(row: MessageTemplate) -> str | None:
    if row.status != APPROVED:
        return f"Meta has not approved it ({row.status})"
    return templates.unsupported(row.components)


async def _whatsapp_inbox(session: AsyncSession, principal: Principal, inbox_id: int) -> Inbox:
    inbox = await inboxes.get_inbox(session, principal, inbox_id)
    if inbox.channel_type != WhatsappChannel.name:
        raise ValidationFailed("message templates are for WhatsApp inboxes", field="inbox_id")
    return inbox


async def sync_templates(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    inbox_id: int,
    *,
    secret_box: SecretBox,
    settings: Settings,
) -> TemplateSyncOut:
    """Replace the inbox's templates with what Meta has now (admin)."""
    principal.require("admin")
    inbox = await _whatsapp_inbox(session, principal, inbox_id)
    adapter = cast(WhatsappChannel, registry.build_adapter(inbox, secret_box, settings))
    try:
        fetched = await adapter.message_templates()
    except DeliveryFailed as exc:
        log.warning("templates_sync_failed", inbox_id=inbox.id, error=str(exc))
        if exc.permanent:
            raise ValidationFailed(f"Meta refused: {exc}", field="inbox_id") from None
        raise ServiceUnavailable(f"Meta did not answer: {exc}") from None
    now = clock.now()
    rows = {
        (r.name, r.language): r
        for r in await session.scalars(
            select(MessageTemplate).where(MessageTemplate.inbox_id == inbox.id)
        )
    }
    seen: set[tuple[str, str]] = set()
    usable = 0
    for item in fetched:
        name, language = str(item.get("name") or ""), str(item.get("language") or "")
        if not name or not language or (name, language) in seen:
            continue
        seen.add((name, language))
        row = rows.get((name, language))
        if row is None:
            row = MessageTemplate(account_id=inbox.account_id, inbox_id=inbox.id, name=name)
            row.language = language
            session.add(row)
        row.status = str(item.get("status") or "").upper()[:32]
        row.category = str(item.get("category") or "").upper()[:32]
        components = item.get("components")
        row.components = [c for c in components if isinstance(c, dict)] if components else []
        row.provider_id = str(item.get("id") or "")[:64]
        row.synced_at = now
        usable += unusable_reason(row) is None
    gone = [r.id for key, r in rows.items() if key not in seen]
    if gone:
        await session.execute(delete(MessageTemplate).where(MessageTemplate.id.in_(gone)))
    result = TemplateSyncOut(fetched=len(seen), usable=usable, removed=len(gone))
    await events.record(
        session,
        account_id=inbox.account_id,
        type=SYNCED,
        actor_user_id=principal.user_id,
        clock=clock,
        data={"inbox_id": inbox.id, **result.model_dump()},
    )
    return result


async def list_templates(
    session: AsyncSession, principal: Principal, inbox_id: int
) -> Sequence[MessageTemplate]:
    inbox = await _whatsapp_inbox(session, principal, inbox_id)
    return (
        await session.scalars(
            select(MessageTemplate)
            .where(
                MessageTemplate.account_id == principal.account_id,
                MessageTemplate.inbox_id == inbox.id,
            )
            .order_by(MessageTemplate.name, MessageTemplate.language)
        )
    ).all()


async def preview(
    session: AsyncSession, principal: Principal, conversation_id: int, choice: TemplateChoice
) -> TemplatePreview:
    _, rendered, _ = await _compose(session, principal, conversation_id, choice)
    return TemplatePreview(text=rendered.text)


async def send_template(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    conversation_id: int,
    choice: TemplateChoice,
) -> tuple[Message, list[Attachment]]:
    """Reply with a template: allowed whether or not the 24-hour window is open."""
    _, rendered, row = await _compose(session, principal, conversation_id, choice)
    return await conversations.post_message(
        session,
        clock,
        principal,
        conversation_id,
        MessageCreate(body=rendered.text),
        template={"name": row.name, "language": row.language, "components": rendered.components},
    )


async def _compose(
    session: AsyncSession, principal: Principal, conversation_id: int, choice: TemplateChoice
) -> tuple[Conversation, templates.Rendered, MessageTemplate]:
    conversation = await conversations.get_conversation(session, principal, conversation_id)
    if conversation.inbox_id is None:
        raise ValidationFailed("this conversation has no channel", field="conversation_id")
    inbox = await _whatsapp_inbox(session, principal, conversation.inbox_id)
    row = await session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.account_id == principal.account_id,
            MessageTemplate.inbox_id == inbox.id,
            MessageTemplate.name == choice.name,
            MessageTemplate.language == choice.language,
        )
    )
    if row is None:
        raise NotFound(f"template {choice.name} ({choice.language})", field="name")
    reason = unusable_reason(row)
    if reason is not None:
        raise ValidationFailed(f"template {row.name} cannot be sent: {reason}", field="name")
    unknown = sorted(set(choice.variables) - set(templates.variables(row.components)))
    if unknown:
        raise ValidationFailed(
            f"template {row.name} has no variable {unknown[0]}", field=f"variables.{unknown[0]}"
        )
    return conversation, templates.render(row.components, choice.variables), row


def _raw_text(components: list[dict[str, Any]]) -> str:
    parts = [
        str(c.get("text"))
        for c in components
        if str(c.get("type") or "").upper() in ("HEADER", "BODY", "FOOTER") and c.get("text")
    ]
    return "\n\n".join(parts)
