"""The visitor protocol's use cases. Never commits: the endpoints' unit of work does.

A visitor is a ``webchat`` identity (a UUID named by their visitor token). Their contact is
made with their first message (or earlier, when they give something to store on it), and
their conversations are the contact's conversations in the web-chat inbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.models import User
from omnidesk.accounts.principal import Principal
from omnidesk.channels import registry
from omnidesk.channels.webchat import tokens
from omnidesk.channels.webchat.adapter import WebchatChannel
from omnidesk.channels.webchat.schemas import (
    CONTACT_FIELDS,
    AttachmentLimits,
    CsatIn,
    PreChatFieldOut,
    PreChatFormOut,
    PreChatIn,
    SenderOut,
    UserIn,
    VisitorAttachmentOut,
    VisitorConversationOut,
    VisitorEventIn,
    VisitorMessageOut,
    VisitorOut,
    WebchatConfig,
    WidgetSettings,
)
from omnidesk.contacts import repository as contacts_repo
from omnidesk.contacts import service as contacts
from omnidesk.contacts.models import Contact
from omnidesk.conversations import repository as conversations_repo
from omnidesk.conversations import service as conversations
from omnidesk.conversations.models import Conversation, Message
from omnidesk.events import service as events
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from omnidesk.kit.security import SecretBox
from omnidesk.routing import hours
from omnidesk.routing import service as routing
from omnidesk.routing.models import BusinessHours
from omnidesk.settings import AttachmentSettings

log = structlog.get_logger(__name__)

VISITOR = "webchat"
CSAT_RECEIVED = "conversation.csat_received"
#: Event types of what the widget reports about the visitor's browsing.
PAGE_EVENTS = {"page_view": "contact.page_viewed", "rage_click": "contact.rage_clicked"}
HISTORY_LIMIT = 100


def config_of(inbox: Inbox) -> WebchatConfig:
    return WebchatConfig.model_validate(inbox.config)


async def find_inbox(session: AsyncSession, widget_key: str) -> Inbox:
    """The web-chat inbox with this widget key; NotFound otherwise."""
    inbox = await session.scalar(
        select(Inbox)
        .where(
            Inbox.channel_type == WebchatChannel.name,
            Inbox.config["widget_key"].as_string() == widget_key,
        )
        .limit(1)
    )
    if inbox is None:
        raise NotFound("widget")
    return inbox


def identity_secret(secret_box: SecretBox, inbox: Inbox) -> str | None:
    try:
        secret = registry.decrypt_secrets(secret_box, inbox).get("identity_secret")
    except ValueError:
        log.warning("webchat_secrets_unreadable", inbox_id=inbox.id)
        return None
    return secret if isinstance(secret, str) and secret else None


# Visitors and their contacts ------------------------------------------------------------


async def visitor_contact(session: AsyncSession, inbox: Inbox, visitor_id: str) -> Contact | None:
    owners = await contacts.owners_of(session, inbox.account_id, [(VISITOR, visitor_id)])
    return owners.get((VISITOR, visitor_id))


async def ensure_contact(
    session: AsyncSession, clock: Clock, inbox: Inbox, visitor_id: str, *, name: str = ""
) -> Contact:
    return await contacts.resolve_contact(
        session, clock, account_id=inbox.account_id, kind=VISITOR, value=visitor_id, name=name
    )


async def identify(
    session: AsyncSession,
    clock: Clock,
    inbox: Inbox,
    secret: str | None,
    visitor_id: str,
    user: UserIn,
) -> tuple[str, Contact]:
    """Attach the visitor to the contact of the host site's verified user (``external``
    identity), made if needed. Returns the visitor id to use: a new one when this visitor
    already belongs to another contact (their anonymous chat stays with it)."""
    if secret is None or not tokens.user_hash_matches(secret, user.id, user.hash):
        raise Forbidden("the user's hash does not match their id", field="user.hash")
    account_id = inbox.account_id
    owners = await contacts.owners_of(
        session, account_id, [("external", user.id), (VISITOR, visitor_id)]
    )
    contact = owners.get(("external", user.id))
    current = owners.get((VISITOR, visitor_id))
    if contact is None and current is not None:
        contact = current  # an anonymous visitor logs in: their contact becomes the user's
        await contacts.attach_identity(session, clock, contact, "external", user.id)
    if contact is None:
        contact = await contacts.resolve_contact(
            session,
            clock,
            account_id=account_id,
            kind="external",
            value=user.id,
            name=user.name or "",
        )
    if current is not None and current.id != contact.id:
        visitor_id = tokens.new_visitor_id()
    if current is None or current.id != contact.id:
        await contacts.attach_identity(session, clock, contact, VISITOR, visitor_id)
    await fill_contact(session, clock, contact, name=user.name, email=user.email)
    return visitor_id, contact


async def fill_contact(
    session: AsyncSession,
    clock: Clock,
    contact: Contact,
    *,
    name: str | None,
    email: str | None,
    field: str = "email",
) -> None:
    if name and name.strip() and not contact.name:
        contact.name = name.strip()[:200]
        contact.updated_at = clock.now()
    if email:
        try:
            contacts.normalise_identity("email", email)
        except ValidationFailed:
            raise ValidationFailed("not a valid email address", field=field) from None
        await contacts.attach_identity(session, clock, contact, "email", email)


async def visitor_out(session: AsyncSession, contact: Contact | None) -> VisitorOut:
    if contact is None:
        return VisitorOut(name=None, email=None)
    identities = (await contacts_repo.identities_of(session, [contact.id]))[contact.id]
    emails = sorted((i for i in identities if i.kind == "email"), key=lambda i: i.id)
    return VisitorOut(name=contact.name or None, email=emails[0].value if emails else None)


async def apply_pre_chat(
    session: AsyncSession,
    clock: Clock,
    inbox: Inbox,
    contact: Contact,
    pre_chat: PreChatIn,
) -> None:
    """The pre-chat form onto the contact: name, email identity, defined attributes."""
    config = config_of(inbox)
    configured = {f.name: f for f in config.pre_chat_form.fields}
    given = dict(pre_chat.fields or {})
    for name, value in given.items():
        if name not in configured:
            raise ValidationFailed(f"{name!r} is not a pre-chat field", field=f"pre_chat.{name}")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ValidationFailed("must be text or a number", field=f"pre_chat.fields.{name}")
    for name, spec in configured.items():
        value = given.get(name, getattr(pre_chat, name, None) if name in CONTACT_FIELDS else None)
        if spec.required and (value is None or value == ""):
            raise ValidationFailed(f"{spec.label} is required", field=f"pre_chat.fields.{name}")
        if spec.type == "select" and value not in (None, "") and value not in (spec.options or []):
            raise ValidationFailed("not one of the options", field=f"pre_chat.fields.{name}")
    await fill_contact(
        session,
        clock,
        contact,
        name=pre_chat.name or _text(given.get("name")),
        email=pre_chat.email or _text(given.get("email")),
        field="pre_chat.email",
    )
    attributes = {k: v for k, v in given.items() if k not in CONTACT_FIELDS and v not in (None, "")}
    if not attributes:
        return
    definitions = await contacts_repo.list_definitions(session, inbox.account_id)
    defined = {d.key for d in definitions if d.applies_to == "contact"}
    kept = {k: v for k, v in attributes.items() if k in defined}
    if kept:
        cleaned = contacts.validate_attributes(
            definitions, kept, "contact", field_prefix="pre_chat.fields"
        )
        contact.attributes = {**(contact.attributes or {}), **cleaned}
        contact.updated_at = clock.now()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# Settings -------------------------------------------------------------------------------


async def widget_settings(
    session: AsyncSession, clock: Clock, inbox: Inbox, limits: AttachmentSettings
) -> WidgetSettings:
    config = config_of(inbox)
    online, next_open_at = await opening(session, clock, inbox, config)
    form = config.pre_chat_form
    return WidgetSettings(
        title=config.title,
        greeting=config.greeting,
        colour=config.colour,
        pre_chat_form=PreChatFormOut(
            enabled=form.enabled,
            fields=[PreChatFieldOut.model_validate(f.model_dump()) for f in form.fields],
        ),
        online=online,
        next_open_at=next_open_at,
        expected_reply=config.expected_reply if online else config.offline_reply,
        attachments=AttachmentLimits(max_bytes=limits.max_bytes, types=limits.allowed_types),
        csat=config.csat,
    )


async def opening(
    session: AsyncSession, clock: Clock, inbox: Inbox, config: WebchatConfig
) -> tuple[bool, datetime | None]:
    """Whether the chat is open now (its business hours), and when it opens next if not."""
    if config.business_hours_id is None:
        return True, None
    calendar = await session.get(BusinessHours, config.business_hours_id)
    if calendar is None or calendar.account_id != inbox.account_id:
        return True, None
    now = clock.now()
    try:
        schedule = routing.schedule_of(calendar)
        if schedule.is_open(now):
            return True, None
        return False, schedule.next_open(now)
    except (hours.HoursError, KeyError, TypeError, ValueError):
        log.warning("business_hours_unreadable", business_hours_id=calendar.id)
        return True, None


# Messages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Links:
    """How the widget downloads attachments: signed links under the widget's URL."""

    base_url: str
    widget_key: str
    inbox_id: int
    secret_key: str

    def attachment(self, attachment_id: int) -> str:
        sig = tokens.attachment_signature(self.secret_key, self.inbox_id, attachment_id)
        return f"{self.base_url}/widget/v1/{self.widget_key}/attachments/{attachment_id}?sig={sig}"


def visitor_message(
    message: Mapping[str, Any], links: Links, names: Mapping[int, str]
) -> VisitorMessageOut:
    """A ``MessageOut`` (JSON or dict) in the visitor's view."""
    sender_type = message["sender_type"]
    sender_id = message.get("sender_id")
    if sender_type == "contact":
        sender = SenderOut(type="contact")
    elif sender_type == "user":
        sender = SenderOut(type="user", name=names.get(sender_id or 0))
    else:
        sender = SenderOut(type="system")
    meta = message.get("meta") or {}
    client_id = meta.get("client_id")
    delivery = message.get("delivery_status")
    status = delivery if delivery in ("delivered", "read") else "sent"
    return VisitorMessageOut(
        id=message["id"],
        client_id=client_id if isinstance(client_id, str) else None,
        conversation_id=message["conversation_id"],
        direction=message["direction"],
        body=message["body"],
        sender=sender,
        attachments=[
            VisitorAttachmentOut(
                id=a["id"],
                filename=a["filename"],
                content_type=a["content_type"],
                size=a["size"],
                url=links.attachment(a["id"]),
            )
            for a in message.get("attachments") or []
        ],
        status=status,
        created_at=message["created_at"],
    )


async def user_names(
    session: AsyncSession, account_id: int, user_ids: Iterable[int]
) -> dict[int, str]:
    ids = sorted({i for i in user_ids if i})
    if not ids:
        return {}
    rows = await session.execute(
        select(User.id, User.name).where(User.account_id == account_id, User.id.in_(ids))
    )
    return {row.id: row.name for row in rows}


async def history(
    session: AsyncSession, inbox: Inbox, contact_id: int, *, after: int, limit: int
) -> list[dict[str, Any]]:
    """The visitor's messages after ``after``, oldest first, as ``MessageOut`` dicts."""
    rows = (
        await session.scalars(
            select(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Conversation.account_id == inbox.account_id,
                Conversation.inbox_id == inbox.id,
                Conversation.contact_id == contact_id,
                Message.kind == "message",
                Message.id > after,
            )
            .order_by(Message.id)
            .limit(limit)
        )
    ).all()
    attachments = await conversations_repo.attachments_of(session, [m.id for m in rows])
    return [conversations.message_out(m, attachments[m.id]).model_dump(mode="json") for m in rows]


async def visitor_messages(
    session: AsyncSession, inbox: Inbox, messages: Sequence[Mapping[str, Any]], links: Links
) -> list[VisitorMessageOut]:
    names = await user_names(
        session,
        inbox.account_id,
        (m.get("sender_id") or 0 for m in messages if m["sender_type"] == "user"),
    )
    return [visitor_message(m, links, names) for m in messages]


async def conversation_ids(session: AsyncSession, inbox: Inbox, contact_id: int) -> set[int]:
    rows = await session.scalars(
        select(Conversation.id).where(
            Conversation.account_id == inbox.account_id,
            Conversation.inbox_id == inbox.id,
            Conversation.contact_id == contact_id,
        )
    )
    return set(rows)


async def latest_conversation(
    session: AsyncSession, inbox: Inbox, contact_id: int | None
) -> Conversation | None:
    if contact_id is None:
        return None
    return await conversations_repo.latest_for_contact(
        session, inbox.account_id, inbox.id, contact_id
    )


def conversation_view(conversation: Conversation | None) -> VisitorConversationOut | None:
    if conversation is None:
        return None
    return VisitorConversationOut.model_validate(conversation, from_attributes=True)


async def own_conversation(
    session: AsyncSession, inbox: Inbox, contact: Contact | None, conversation_id: int
) -> Conversation:
    conversation = await conversations_repo.get_in_account(
        session, inbox.account_id, conversation_id
    )
    if (
        contact is None
        or conversation is None
        or conversation.inbox_id != inbox.id
        or conversation.contact_id != contact.id
    ):
        raise NotFound("conversation", field="conversation_id")
    return conversation


# Read receipts, CSAT, browsing events ----------------------------------------------------


async def mark_read(
    session: AsyncSession, clock: Clock, inbox: Inbox, contact: Contact | None, message_id: int
) -> int:
    """The visitor read up to ``message_id``: our messages up to it become ``read``."""
    message = await conversations_repo.get_message(session, message_id)
    if message is None or message.account_id != inbox.account_id:
        raise NotFound("message", field="message_id")
    conversation = await own_conversation(session, inbox, contact, message.conversation_id)
    unread = (
        await session.scalars(
            select(Message.id)
            .where(
                Message.conversation_id == conversation.id,
                Message.direction == "outbound",
                Message.kind == "message",
                Message.id <= message_id,
                Message.delivery_status.in_(("queued", "sent", "delivered")),
            )
            .order_by(Message.id)
        )
    ).all()
    for unread_id in unread:
        await conversations.record_delivery(session, clock, message_id=unread_id, state="read")
    return len(unread)


async def rate(
    session: AsyncSession, clock: Clock, inbox: Inbox, contact: Contact | None, data: CsatIn
) -> None:
    if not config_of(inbox).csat:
        raise ValidationFailed("this chat does not ask for ratings", field="rating")
    conversation = await own_conversation(session, inbox, contact, data.conversation_id)
    await conversations_repo.lock_conversation(session, conversation.id)
    await session.refresh(conversation)
    if conversation.csat_rating is not None:
        raise Conflict("this conversation was already rated", field="conversation_id")
    now = clock.now()
    conversation.csat_rating = data.rating
    conversation.csat_comment = data.comment
    conversation.csat_at = now
    conversation.updated_at = now
    await events.record(
        session,
        account_id=conversation.account_id,
        type=CSAT_RECEIVED,
        audience="conversation",
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        assignee_id=conversation.assignee_id,
        team_id=conversation.team_id,
        data={"rating": data.rating, "comment": data.comment},
        clock=clock,
    )


async def record_page_events(
    session: AsyncSession,
    clock: Clock,
    inbox: Inbox,
    contact: Contact,
    visitor_id: str,
    items: Sequence[VisitorEventIn],
) -> None:
    """What the visitor did on the site, on the contact's timeline (``/contacts/{id}/events``)."""
    for item in items:
        await events.record(
            session,
            account_id=inbox.account_id,
            type=PAGE_EVENTS[item.kind],
            contact_id=contact.id,
            data={
                "contact_id": contact.id,
                "inbox_id": inbox.id,
                "visitor_id": visitor_id,
                **item.model_dump(mode="json", exclude_none=True),
            },
            clock=clock,
        )


async def hand_off_offline(
    session: AsyncSession, clock: Clock, inbox: Inbox, conversation_id: int
) -> bool:
    """Move a conversation opened out of hours to the inbox's email inbox, so that its
    replies go out by email. False when there is none (its replies will fail, saying so)."""
    target_id = config_of(inbox).offline_email_inbox_id
    if target_id is None:
        return False
    target = await session.get(Inbox, target_id)
    if target is None or target.account_id != inbox.account_id or target.channel_type != "email":
        log.warning("webchat_offline_inbox_missing", inbox_id=inbox.id, email_inbox_id=target_id)
        return False
    conversation = await conversations_repo.get_in_account(
        session, inbox.account_id, conversation_id
    )
    if conversation is None or conversation.inbox_id != inbox.id:
        return False
    conversation.inbox_id = target.id
    conversation.channel_thread_id = None  # the email inbox threads by its own ids
    conversation.updated_at = clock.now()
    await events.record(
        session,
        account_id=conversation.account_id,
        type="conversation.updated",
        audience="conversation",
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        assignee_id=conversation.assignee_id,
        team_id=conversation.team_id,
        data={"changes": {"inbox_id": {"from": inbox.id, "to": target.id}}},
        clock=clock,
    )
    return True


# Agents' side ----------------------------------------------------------------------------


async def agent_conversation(
    session: AsyncSession, principal: Principal, conversation_id: int
) -> Conversation:
    return await conversations.get_conversation(session, principal, conversation_id)
