"""Use cases for conversations and messages. Never commits.

``receive_inbound`` is the channel pipeline's entry: whatever the channel, a customer's
message lands here once (deduplicated on the provider's id), finds its contact and its
conversation, and is announced as an event.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatch
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts import repository as accounts_repo
from omnidesk.accounts.principal import Principal
from omnidesk.categorisation import service as categorisation
from omnidesk.channels import registry
from omnidesk.channels.base import Departure, Inbound
from omnidesk.contacts import service as contacts
from omnidesk.contacts.models import Contact
from omnidesk.conversations import fields as conversation_fields
from omnidesk.conversations import mail_threads
from omnidesk.conversations import repository as repo
from omnidesk.conversations.audience import of as _visibility
from omnidesk.conversations.events import CONTACT_LEFT, MESSAGE_RECEIVED, NOTE_MENTIONED
from omnidesk.conversations.models import Attachment, Conversation, Message
from omnidesk.conversations.schemas import (
    AttachmentOut,
    ConversationCreate,
    ConversationOut,
    ConversationUpdate,
    MessageCreate,
    MessageOut,
)
from omnidesk.events import service as events
from omnidesk.forms import repository as forms_repo
from omnidesk.forms.models import TicketForm
from omnidesk.inboxes import repository as inboxes_repo
from omnidesk.inboxes.models import Inbox
from omnidesk.jobs import outbox, timers
from omnidesk.kit import markup
from omnidesk.kit.clock import Clock, ensure_utc
from omnidesk.kit.db import serialises_writers
from omnidesk.kit.errors import (
    NotFound,
    OmnideskError,
    OutsideReplyWindow,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from omnidesk.kit.storage import Storage
from omnidesk.kit.types import scrub_text
from omnidesk.settings import AttachmentSettings
from omnidesk.sla import service as sla

DELIVER_JOB = "channel.deliver"
WAKE_JOB = "conversation.wake"


def message_out(message: Message, attachments: list[Attachment] | None = None) -> MessageOut:
    return MessageOut.model_validate(message).model_copy(
        update={"attachments": [AttachmentOut.model_validate(a) for a in attachments or []]}
    )


def conversation_out(conversation: Conversation, tags: list[str]) -> ConversationOut:
    return ConversationOut.model_validate(conversation).model_copy(update={"tags": tags})


def message_payload(
    message: Message, attachments: list[Attachment] | None = None
) -> dict[str, Any]:
    return {"message": message_out(message, attachments).model_dump(mode="json")}


def conversation_payload(conversation: Conversation, tags: list[str]) -> dict[str, Any]:
    return {"conversation": conversation_out(conversation, tags).model_dump(mode="json")}


# Reading --------------------------------------------------------------------------------


async def get_conversation(
    session: AsyncSession, principal: Principal, conversation_id: int
) -> Conversation:
    conversation = await repo.get_visible(session, principal, conversation_id)
    if conversation is None:
        raise NotFound("conversation")
    return conversation


# Inbound --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiveResult:
    message: Message
    conversation: Conversation
    created: bool
    #: The message as :class:`MessageOut` JSON, when this transaction stored it (its event's
    #: payload): the channel's answer reuses it instead of building it again.
    message_json: dict[str, Any] | None = None


@dataclass(frozen=True)
class InboundItem:
    """A customer's message for :func:`receive_inbound_many`, as a channel endpoint got it."""

    account_id: int
    inbox_id: int
    inbound: Inbound
    #: Refuse (422 on ``inbox_id``) an inbox of another channel.
    channel_type: str | None = None
    #: Strict handles: one that is not valid is a 422 on the payload field named here (the
    #: sender's handle first, then its extra identities) instead of being skipped.
    handle_fields: tuple[str, ...] | None = None


#: What became of one item: stored (or found stored), or the client error that refused it.
Outcome = ReceiveResult | OmnideskError


async def receive_inbound(
    session: AsyncSession,
    clock: Clock,
    *,
    inbox: Inbox,
    inbound: Inbound,
    storage: Storage | None = None,
) -> ReceiveResult:
    """Store a customer's message once; a repeated provider id returns the stored one."""
    item = InboundItem(account_id=inbox.account_id, inbox_id=inbox.id, inbound=inbound)
    [outcome] = await receive_inbound_many(session, clock, [item], storage=storage)
    if isinstance(outcome, OmnideskError):
        raise outcome
    return outcome


@dataclass
class _Pending:
    index: int
    item: InboundItem
    inbox: Inbox
    kind: str
    value: str
    contact: Contact | None = None


async def receive_inbound_many(
    session: AsyncSession,
    clock: Clock,
    items: Sequence[InboundItem],
    *,
    storage: Storage | None = None,
) -> list[Outcome]:
    """Store customers' messages, each once, with a fixed number of queries per batch.

    An item refused for its own input (unknown inbox, bad handle) does not affect the others;
    anything else raises and the caller's transaction rolls back as a whole.
    """
    outcomes: list[Outcome | None] = [None] * len(items)
    pending = await _checked(session, items, outcomes)
    stored = await repo.messages_by_channel_ids(session, [_key(p) for p in pending])
    duplicates = [(p.index, stored[_key(p)]) for p in pending if _key(p) in stored]
    fresh = [p for p in pending if _key(p) not in stored]
    groups = _by_account(fresh)
    for account_id, group in groups.items():
        await _find_contacts(session, clock, account_id, group)
    if not serialises_writers(session):
        # Another transaction may have stored one of them before we held its contact.
        stored = await repo.messages_by_channel_ids(session, [_key(p) for p in fresh])
    conversations: dict[tuple[int, int], Conversation] = {}
    for account_id, group in groups.items():
        conversations |= await repo.latest_for_contacts(
            session, account_id, [_pair(p) for p in group if not mail_threads.applies(p.inbox)]
        )
    mail = await mail_threads.load(
        session, clock.now(), [_mail(p) for p in fresh if mail_threads.applies(p.inbox)]
    )
    received: dict[tuple[int, str], ReceiveResult] = {}
    created: list[tuple[_Pending, Message, Conversation]] = []
    for p in fresh:
        key = _key(p)
        if key in stored:  # stored by another transaction since the first look
            duplicates.append((p.index, stored[key]))
        elif key in received:  # the same message twice in this batch
            first = received[key]
            outcomes[p.index] = ReceiveResult(first.message, first.conversation, created=False)
        else:
            conversation = await _conversation_of(session, clock, p, conversations, mail)
            message = _inbound_message(p, conversation, clock.now())
            session.add(message)
            received[key] = outcomes[p.index] = ReceiveResult(message, conversation, True)
            created.append((p, message, conversation))
    await session.flush()  # every new message in one INSERT
    for p, message, conversation in created:
        payload = await _announce(session, clock, p, message, conversation, storage)
        outcomes[p.index] = ReceiveResult(message, conversation, True, payload["message"])
    await categorisation.categorise_received(session, clock, [(m, c) for _, m, c in created])
    if duplicates:  # already received: answered with the stored message, in one query
        of = await repo.get_many(session, {message.conversation_id for _, message in duplicates})
        for index, message in duplicates:
            outcomes[index] = ReceiveResult(message, of[message.conversation_id], created=False)
    return [outcome for outcome in outcomes if outcome is not None]


def _key(p: _Pending) -> tuple[int, str]:
    return (p.inbox.id, p.item.inbound.channel_message_id)


def _pair(p: _Pending) -> tuple[int, int]:
    assert p.contact is not None
    return (p.inbox.id, p.contact.id)


def _mail(p: _Pending) -> mail_threads.Mail:
    assert p.contact is not None
    return (p.inbox, p.contact.id, p.item.inbound)


def _by_account(pending: Sequence[_Pending]) -> dict[int, list[_Pending]]:
    groups: dict[int, list[_Pending]] = {}
    for p in pending:
        groups.setdefault(p.inbox.account_id, []).append(p)
    return groups


async def _checked(
    session: AsyncSession, items: Sequence[InboundItem], outcomes: list[Outcome | None]
) -> list[_Pending]:
    """The items whose inbox and sender are acceptable; the others get their error."""
    found = await inboxes_repo.get_inboxes(session, (item.inbox_id for item in items))
    # Only phone numbers need their account's default region: most batches have none.
    regions = await contacts.phone_regions(
        session, (item.account_id for item in items if _has_phone_number(item))
    )
    pending = []
    for index, item in enumerate(items):
        inbox = found.get(item.inbox_id)
        try:
            if inbox is None or inbox.account_id != item.account_id:
                raise NotFound("inbox")
            if item.channel_type is not None and inbox.channel_type != item.channel_type:
                raise ValidationFailed(
                    f"this inbox is not an {item.channel_type} inbox", field="inbox_id"
                )
            kind, value = _sender_handle(
                item, regions.get(item.account_id, contacts.DEFAULT_PHONE_REGION)
            )
        except OmnideskError as exc:
            outcomes[index] = exc
            continue
        pending.append(_Pending(index, item, inbox, kind, value))
    return pending


def _has_phone_number(item: InboundItem) -> bool:
    sender = item.inbound.sender
    kinds = [sender.kind, *(kind for kind, _ in sender.extra_identities)]
    return any(contacts.is_phone_kind(kind) for kind in kinds)


def _sender_handle(item: InboundItem, region: str) -> tuple[str, str]:
    """The sender's normalised handle; with ``handle_fields``, every extra one checked too
    (without them, extra handles that are not valid are skipped when the contact is made)."""
    sender = item.inbound.sender
    fields = item.handle_fields or ()
    handles = [(sender.kind, sender.value)]
    if item.handle_fields is not None:
        handles.extend(sender.extra_identities)
    normalised = []
    for position, (kind, value) in enumerate(handles):
        try:
            normalised.append(contacts.normalise_identity(kind, value, region))
        except ValidationFailed as exc:
            field = fields[position] if position < len(fields) else exc.field
            raise ValidationFailed(exc.message, field=field) from None
    return sender.kind, normalised[0]


async def _find_contacts(
    session: AsyncSession, clock: Clock, account_id: int, group: Sequence[_Pending]
) -> None:
    """Each item's contact, created on first contact, and row-locked: one customer's
    deliveries are handled one at a time, so two messages arriving together cannot open
    two conversations, and a duplicate sees the first once committed. Rows are locked in id
    order, so batches cannot deadlock."""
    owners = await contacts.owners_of(
        session, account_id, ((p.kind, p.value) for p in group), lock=True
    )
    for p in group:
        contact = owners.get((p.kind, p.value))
        if contact is None:  # first contact: created (with its extra identities)
            sender = p.item.inbound.sender
            contact = await contacts.resolve_contact(
                session,
                clock,
                account_id=account_id,
                kind=p.kind,
                value=p.value,
                name=sender.name,
                extra_identities=sender.extra_identities,
            )
            owners[(p.kind, p.value)] = contact
        p.contact = contact


async def _conversation_of(
    session: AsyncSession,
    clock: Clock,
    p: _Pending,
    latest: dict[tuple[int, int], Conversation],
    mail: mail_threads.MailThreads,
) -> Conversation:
    assert p.contact is not None
    inbound = p.item.inbound
    if mail_threads.applies(p.inbox):  # threaded by headers, never by recency alone
        conversation = mail.find(p.inbox, p.contact.id, inbound)
        if conversation is None:
            conversation = await _open_conversation(session, clock, p.inbox, p.contact.id, inbound)
        mail.remember(p.inbox, p.contact.id, inbound, conversation)
        return conversation
    if inbound.thread_id:
        return await _conversation_for(session, clock, p.inbox, p.contact.id, inbound)
    conversation = latest.get(_pair(p))
    if conversation is None:
        conversation = await _conversation_for(session, clock, p.inbox, p.contact.id, inbound)
        latest[_pair(p)] = conversation
    return conversation


def _inbound_message(p: _Pending, conversation: Conversation, now: datetime) -> Message:
    inbound, inbox = p.item.inbound, p.inbox
    assert p.contact is not None
    return Message(
        account_id=inbox.account_id,
        conversation_id=conversation.id,
        inbox_id=inbox.id,
        direction="inbound",
        kind="message",
        sender_type="contact",
        sender_id=p.contact.id,
        body=scrub_text(inbound.body),
        body_html=scrub_text(inbound.body_html) if inbound.body_html is not None else None,
        channel_message_id=inbound.channel_message_id,
        delivery_status="received",
        meta=dict(inbound.meta),
        created_at=now,
    )


async def _announce(
    session: AsyncSession,
    clock: Clock,
    p: _Pending,
    message: Message,
    conversation: Conversation,
    storage: Storage | None,
) -> dict[str, Any]:
    """Attachments, the conversation's activity and status, and the event of a new message;
    returns the event's payload."""
    stored = []
    for item in p.item.inbound.attachments:
        if storage is None:
            raise ValueError("attachments need a storage")
        stored.append(
            await _store_attachment(
                session,
                clock,
                storage,
                account_id=message.account_id,
                uploaded_by_id=None,
                filename=item.filename,
                content_type=item.content_type,
                data=item.data,
                content_id=item.content_id,
                message_id=message.id,
            )
        )
    _touch(conversation, message.created_at)
    if conversation.status in ("resolved", "snoozed", "pending"):
        await _set_status(session, clock, conversation, "open", actor_user_id=None)
    await sla.customer_wrote(session, clock, conversation)
    if p.item.inbound.consent is not None:  # SMS STOP / START: kept on the sender's handle
        await contacts.record_consent(
            session,
            clock,
            account_id=message.account_id,
            kind=p.kind,
            value=p.value,
            consent=p.item.inbound.consent,
            source=p.inbox.channel_type,
        )
    payload = message_payload(message, stored)
    await events.record(
        session,
        type=MESSAGE_RECEIVED,
        data=payload,
        clock=clock,
        **_visibility(conversation),
    )
    return payload


async def _conversation_for(
    session: AsyncSession, clock: Clock, inbox: Inbox, contact_id: int, inbound: Inbound
) -> Conversation:
    conversation = None
    if inbound.thread_id:
        conversation = await repo.find_thread(
            session, inbox.account_id, inbox.id, inbound.thread_id
        )
    else:
        conversation = await repo.latest_for_contact(
            session, inbox.account_id, inbox.id, contact_id
        )
    if conversation is not None and conversation.contact_id == contact_id:
        return conversation
    return await _open_conversation(session, clock, inbox, contact_id, inbound)


async def _open_conversation(
    session: AsyncSession, clock: Clock, inbox: Inbox, contact_id: int, inbound: Inbound
) -> Conversation:
    now = clock.now()
    conversation = Conversation(
        account_id=inbox.account_id,
        inbox_id=inbox.id,
        contact_id=contact_id,
        subject=scrub_text(inbound.subject or "")[:500],
        status="open",
        priority="normal",
        custom_fields={},
        channel_thread_id=inbound.thread_id,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
    )
    session.add(conversation)
    await session.flush()
    await events.record(
        session,
        type="conversation.created",
        clock=clock,
        data=conversation_payload(conversation, []),
        **_visibility(conversation),
    )
    form = await forms_repo.form_for_inbox(session, inbox.id)
    if form is not None:
        await conversation_fields.apply_form(
            session, clock, conversation, form, actor_user_id=None, opening=True
        )
    await sla.conversation_opened(session, clock, conversation)
    return conversation


def _touch(conversation: Conversation, now: datetime) -> None:
    conversation.last_activity_at = now
    conversation.updated_at = now


# Agents' changes ------------------------------------------------------------------------


async def _check_assignment(
    session: AsyncSession, principal: Principal, assignee_id: int | None, team_id: int | None
) -> None:
    if assignee_id is not None:
        user = await accounts_repo.get_user(session, principal.account_id, assignee_id)
        if user is None or not user.active:
            raise NotFound("user", field="assignee_id")
    if (
        team_id is not None
        and await accounts_repo.get_team(session, principal.account_id, team_id) is None
    ):
        raise NotFound("team", field="team_id")


async def create_conversation(
    session: AsyncSession, clock: Clock, principal: Principal, data: ConversationCreate
) -> Conversation:
    """An agent opens a conversation with a contact (e.g. an outbound email)."""
    contact = await contacts.get_contact(session, principal, data.contact_id)
    if data.inbox_id is not None and await _inbox(session, principal, data.inbox_id) is None:
        raise NotFound("inbox")
    await _check_assignment(session, principal, data.assignee_id, data.team_id)
    custom_fields = conversation_fields.merged(
        {}, await conversation_fields.checked(session, principal.account_id, data.custom_fields)
    )
    form = await _form_for_new(session, principal, data)
    now = clock.now()
    conversation = Conversation(
        account_id=principal.account_id,
        inbox_id=data.inbox_id,
        contact_id=contact.id,
        subject=data.subject,
        status="open",
        priority=data.priority,
        assignee_id=data.assignee_id,
        team_id=data.team_id,
        custom_fields=custom_fields,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
    )
    session.add(conversation)
    await session.flush()
    await repo.set_tags(session, conversation.id, data.tags)
    await events.record(
        session,
        type="conversation.created",
        actor_user_id=principal.user_id,
        clock=clock,
        data=conversation_payload(conversation, data.tags),
        **_visibility(conversation),
    )
    if form is not None:
        await conversation_fields.apply_form(
            session, clock, conversation, form, actor_user_id=principal.user_id, opening=True
        )
    await sla.conversation_opened(session, clock, conversation)
    return conversation


async def _form_for_new(
    session: AsyncSession, principal: Principal, data: ConversationCreate
) -> TicketForm | None:
    """The form the agent chose, else the inbox's."""
    if data.ticket_form_id is not None:
        form = await forms_repo.get_form(session, principal.account_id, data.ticket_form_id)
        if form is None:
            raise NotFound("ticket form", field="ticket_form_id")
        return form
    if data.inbox_id is None:
        return None
    return await forms_repo.form_for_inbox(session, data.inbox_id)


async def _inbox(session: AsyncSession, principal: Principal, inbox_id: int) -> Inbox | None:
    inbox = await session.get(Inbox, inbox_id)
    return inbox if inbox is not None and inbox.account_id == principal.account_id else None


async def assign(
    session: AsyncSession,
    clock: Clock,
    conversation: Conversation,
    assignee_id: int | None,
    team_id: int | None,
    *,
    actor_user_id: int | None,
    context: dict[str, Any] | None = None,
) -> bool:
    """Hand the conversation to an agent and team (checked by the caller); False if it was."""
    if (assignee_id, team_id) == (conversation.assignee_id, conversation.team_id):
        return False
    previous = {"assignee_id": conversation.assignee_id, "team_id": conversation.team_id}
    conversation.assignee_id, conversation.team_id = assignee_id, team_id
    conversation.updated_at = clock.now()
    await events.record(
        session,
        type="conversation.assigned",
        actor_user_id=actor_user_id,
        clock=clock,
        data={"previous": previous, "assignee_id": assignee_id, "team_id": team_id}
        | (context or {}),
        **_visibility(conversation),
    )
    return True


async def update_conversation(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    conversation_id: int,
    data: ConversationUpdate,
) -> Conversation:
    conversation = await get_conversation(session, principal, conversation_id)
    fields = data.model_fields_set
    changes: dict[str, Any] = {}
    if "assignee_id" in fields or "team_id" in fields:
        assignee_id = data.assignee_id if "assignee_id" in fields else conversation.assignee_id
        team_id = data.team_id if "team_id" in fields else conversation.team_id
        await _check_assignment(session, principal, assignee_id, team_id)
        await assign(
            session, clock, conversation, assignee_id, team_id, actor_user_id=principal.user_id
        )
    for name in ("subject", "priority"):
        value = getattr(data, name)
        if name in fields and value is not None and value != getattr(conversation, name):
            changes[name] = {"from": getattr(conversation, name), "to": value}
            setattr(conversation, name, value)
    if "priority" in changes:
        await sla.reevaluate(session, clock, conversation)
    if "custom_fields" in fields and data.custom_fields is not None:
        cleaned = await conversation_fields.checked(
            session, principal.account_id, data.custom_fields
        )
        values = conversation_fields.merged(conversation.custom_fields, cleaned)
        if values != conversation.custom_fields:
            changes["custom_fields"] = {"from": conversation.custom_fields, "to": values}
            conversation.custom_fields = values
    if "tags" in fields and data.tags is not None:
        current = (await repo.tags_of(session, [conversation.id]))[conversation.id]
        if current != data.tags:
            await repo.set_tags(session, conversation.id, data.tags)
            changes["tags"] = {"from": current, "to": data.tags}
    if "status" in fields and data.status is not None:
        if data.status == "snoozed":
            if data.snoozed_until is None or data.snoozed_until <= clock.now():
                raise ValidationFailed(
                    "snoozing needs a snoozed_until in the future", field="snoozed_until"
                )
            await _snooze(session, clock, conversation, data.snoozed_until)
        await _set_status(session, clock, conversation, data.status, principal.user_id)
    elif data.snoozed_until is not None:
        raise ValidationFailed("snoozed_until goes with status 'snoozed'", field="snoozed_until")
    conversation.updated_at = clock.now()
    if changes:
        await events.record(
            session,
            type="conversation.updated",
            actor_user_id=principal.user_id,
            clock=clock,
            data={"changes": changes},
            **_visibility(conversation),
        )
    return conversation


async def _snooze(
    session: AsyncSession, clock: Clock, conversation: Conversation, until: datetime
) -> None:
    conversation.snoozed_until = until
    await timers.schedule(
        session,
        clock,
        kind=WAKE_JOB,
        key=f"conversation.wake:{conversation.id}",
        due_at=until,
        payload={"conversation_id": conversation.id},
        account_id=conversation.account_id,
    )


async def _set_status(
    session: AsyncSession,
    clock: Clock,
    conversation: Conversation,
    status: str,
    actor_user_id: int | None,
) -> None:
    previous = conversation.status
    if status == previous and status != "snoozed":
        return
    if status in conversation_fields.RESOLVING and actor_user_id is not None:
        # Agents fill in the required fields; the system (out of hours…) may resolve anyway.
        await conversation_fields.check_resolvable(session, conversation)
    if previous == "snoozed" and status != "snoozed":
        conversation.snoozed_until = None
        await timers.cancel(session, key=f"conversation.wake:{conversation.id}")
    conversation.status = status
    conversation.resolved_at = clock.now() if status in ("resolved", "closed") else None
    await events.record(
        session,
        type="conversation.resolved" if status == "resolved" else "conversation.status_changed",
        actor_user_id=actor_user_id,
        clock=clock,
        data={
            "from": previous,
            "to": status,
            "snoozed_until": conversation.snoozed_until.isoformat()
            if conversation.snoozed_until
            else None,
        },
        **_visibility(conversation),
    )
    await sla.status_changed(session, clock, conversation, previous)


async def change_status(
    session: AsyncSession,
    clock: Clock,
    conversation: Conversation,
    status: str,
    *,
    actor_user_id: int | None,
) -> None:
    """Move the conversation to ``status`` (not ``snoozed``: that needs a timer), on behalf
    of ``actor_user_id`` or, with None, of the system (the router closing out of hours)."""
    if status == "snoozed":
        raise ValueError("snoozing needs a snoozed_until: use update_conversation")
    await _set_status(session, clock, conversation, status, actor_user_id)
    conversation.updated_at = clock.now()


async def wake(session: AsyncSession, clock: Clock, conversation_id: int) -> bool:
    """The snooze timer fired: reopen the conversation if it is still snoozed and due."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.status != "snoozed":
        return False
    if conversation.snoozed_until is not None and conversation.snoozed_until > clock.now():
        return False
    await _set_status(session, clock, conversation, "open", actor_user_id=None)
    return True


# Messages -------------------------------------------------------------------------------


async def post_message(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    conversation_id: int,
    data: MessageCreate,
    *,
    template: dict[str, Any] | None = None,
) -> tuple[Message, list[Attachment]]:
    """An agent's reply (sent through the conversation's inbox) or internal note.

    A ``template`` (a channel's pre-approved message, already rendered into ``data.body``)
    is kept in the message's metadata for the channel, and may go out when the channel's
    reply window has closed; free text may not.
    """
    conversation = await get_conversation(session, principal, conversation_id)
    attachments = list(await repo.unattached(session, principal.account_id, data.attachment_ids))
    if len(attachments) != len(set(data.attachment_ids)):
        raise NotFound("attachment", field="attachment_ids")
    if not data.private and conversation.inbox_id is None:
        raise ValidationFailed(
            "this conversation has no channel to reply through; add a note instead",
            field="private",
        )
    meta = await _composed(session, principal, conversation, data)
    if template is not None:
        meta["template"] = template
    elif not data.private:
        await _check_reply_window(session, clock, conversation)
    body, body_html = data.body, None
    if data.html is not None and not data.private:
        body_html = markup.sanitise(data.html)
        if not body.strip():
            body = markup.to_text(body_html)
    if not body.strip() and not attachments:
        raise ValidationFailed("a message needs a body or an attachment", field="body")
    now = clock.now()
    message = Message(
        account_id=principal.account_id,
        conversation_id=conversation.id,
        inbox_id=None if data.private else conversation.inbox_id,
        direction="outbound",
        kind="note" if data.private else "message",
        sender_type="user",
        sender_id=principal.user_id,
        body=body,
        body_html=body_html,
        delivery_status=None if data.private else "queued",
        meta=meta,
        created_at=now,
    )
    if not data.private and conversation.first_response_at is None:
        conversation.first_response_at = now
    await _store_outbound(
        session, clock, conversation, message, attachments, actor_user_id=principal.user_id
    )
    if not data.private:
        await sla.agent_replied(session, clock, conversation)
    for user_id in meta.get("mentions", []):
        if user_id == principal.user_id:
            continue  # nobody is told about their own note
        await events.record(
            session,
            type=NOTE_MENTIONED,
            actor_user_id=principal.user_id,
            clock=clock,
            data={
                "message_id": message.id,
                "mentioned_user_id": user_id,
                "excerpt": body[:200],
            },
            # Seen by the mentioned user (and supervisors), whoever holds the conversation.
            **{**_visibility(conversation), "assignee_id": user_id, "team_id": None},
        )
    return message, attachments


async def _composed(
    session: AsyncSession, principal: Principal, conversation: Conversation, data: MessageCreate
) -> dict[str, Any]:
    """What the agent chose beyond the text, checked, as the message's metadata: an email's
    To, Cc and Subject; a note's mentioned users (active users of the account, each once)."""
    meta: dict[str, Any] = {}
    fields = data.email_fields
    if fields:
        if data.private:
            raise ValidationFailed("an internal note is not an email", field=fields[0])
        inbox = await _inbox(session, principal, conversation.inbox_id or 0)
        if inbox is None or inbox.channel_type != "email":
            raise ValidationFailed(
                f"{fields[0]} is for replies through an email inbox only", field=fields[0]
            )
        for name in ("to", "cc", "subject"):
            value = getattr(data, name)
            if value is not None:
                meta[name] = _unique(value) if isinstance(value, list) else value
    if data.mentions:
        if not data.private:
            raise ValidationFailed("only an internal note mentions users", field="mentions")
        users = {u.id: u for u in await accounts_repo.list_users(session, principal.account_id)}
        wanted = list(dict.fromkeys(data.mentions))
        unknown = [i for i in wanted if i not in users or not users[i].active]
        if unknown:
            raise NotFound("user", field="mentions")
        meta["mentions"] = wanted
    return meta


async def _check_reply_window(
    session: AsyncSession, clock: Clock, conversation: Conversation
) -> None:
    """Refuse free text once the channel's reply window (hours after the customer's last
    message) has closed: the composer shows why, and offers the channel's templates."""
    inbox = await _inbox_of(session, conversation)
    try:
        adapter = registry.get_adapter_class(inbox.channel_type) if inbox else None
    except ValidationFailed:
        return  # its plugin was uninstalled: the delivery job says so
    if adapter is None:
        return
    # A channel whose window depends on the inbox (Messenger's HUMAN_AGENT tag) says so.
    window_for = getattr(adapter, "reply_window_hours_for", None)
    hours = (
        window_for(inbox.config)
        if callable(window_for) and inbox is not None
        else adapter.capabilities.reply_window_hours
    )
    if not hours:
        return
    last = await repo.last_inbound_at(session, conversation.id)
    if last is None or clock.now() - last >= timedelta(hours=hours):
        since = "has not written yet" if last is None else f"last wrote {last:%Y-%m-%d %H:%M} UTC"
        raise OutsideReplyWindow(
            f"the customer {since}: free text can only be sent within {hours} hours of "
            "their last message; send an approved template instead",
            field="body",
        )


async def _inbox_of(session: AsyncSession, conversation: Conversation) -> Inbox | None:
    if conversation.inbox_id is None:
        return None
    inbox = await session.get(Inbox, conversation.inbox_id)
    return inbox if inbox is not None and inbox.account_id == conversation.account_id else None


def _unique(addresses: list[str]) -> list[str]:
    """Each address once (any case), in the order given."""
    seen: set[str] = set()
    out = []
    for address in addresses:
        if address.lower() not in seen:
            seen.add(address.lower())
            out.append(address)
    return out


async def post_system_message(
    session: AsyncSession,
    clock: Clock,
    conversation: Conversation,
    body: str,
    *,
    meta: dict[str, Any] | None = None,
) -> Message | None:
    """A message from the contact centre itself (an out-of-hours reply), delivered through
    the conversation's inbox like an agent's reply: an outbox row in this transaction.

    Plain text only: it is never rendered as HTML. It does not count as the first response
    (an automatic answer is not an agent's). None when the conversation has no channel.
    """
    if conversation.inbox_id is None:
        return None
    now = clock.now()
    message = Message(
        account_id=conversation.account_id,
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        direction="outbound",
        kind="message",
        sender_type="system",
        sender_id=None,
        body=scrub_text(body),
        delivery_status="queued",
        meta=dict(meta or {}),
        created_at=now,
    )
    await _store_outbound(session, clock, conversation, message, [], actor_user_id=None)
    return message


async def _store_outbound(
    session: AsyncSession,
    clock: Clock,
    conversation: Conversation,
    message: Message,
    attachments: list[Attachment],
    *,
    actor_user_id: int | None,
) -> None:
    """Store a message from our side with its attachments and event; a message (not a
    note) goes to the channel through the outbox, in this transaction."""
    session.add(message)
    await session.flush()
    for attachment in attachments:
        attachment.message_id = message.id
    _touch(conversation, message.created_at)
    if message.kind == "message":
        await outbox.enqueue(
            session,
            clock,
            kind=DELIVER_JOB,
            payload={"message_id": message.id},
            idempotency_key=f"message:{message.id}",
            account_id=conversation.account_id,
        )
    await events.record(
        session,
        type="message.created" if message.kind == "message" else "note.created",
        actor_user_id=actor_user_id,
        clock=clock,
        data=message_payload(message, attachments),
        **_visibility(conversation),
    )


async def record_delivery(
    session: AsyncSession,
    clock: Clock,
    *,
    message_id: int,
    state: str,
    channel_message_id: str | None = None,
    error: str | None = None,
    reason: str | None = None,
) -> Message | None:
    """The provider's word on an outbound message: sent, delivered, read or failed."""
    # Locked: a delivery job's "sent" and a reader's "read" may race; the later one must
    # see the other's state to keep the message from going backwards.
    message = await repo.get_message(session, message_id, lock=True)
    if message is None or message.direction != "outbound":
        return None
    order = ("queued", "sent", "delivered", "read")
    # Status callbacks arrive out of order; never move a message backwards.
    current = message.delivery_status or "queued"
    if state in order and current in order and order.index(state) <= order.index(current):
        return message
    message.delivery_status = state
    message.delivery_error = error if state == "failed" else None
    message.delivery_reason = reason if state == "failed" else None
    if channel_message_id:
        message.channel_message_id = channel_message_id
    conversation = await repo.get_in_account(session, message.account_id, message.conversation_id)
    assert conversation is not None
    await events.record(
        session,
        type="message.delivery_updated",
        clock=clock,
        data={
            "message_id": message.id,
            "state": state,
            "error": message.delivery_error,
            "reason": message.delivery_reason,
        },
        **_visibility(conversation),
    )
    return message


async def record_delivery_update(
    session: AsyncSession,
    clock: Clock,
    *,
    inbox_id: int,
    channel_message_id: str,
    state: str,
    error: str | None = None,
    reason: str | None = None,
) -> Message | None:
    """A provider's status callback: applied to our message it names in that inbox (None
    when there is none, e.g. a message sent from the provider's own console)."""
    message_id = await repo.outbound_message_id(session, inbox_id, channel_message_id)
    if message_id is None:
        return None
    return await record_delivery(
        session, clock, message_id=message_id, state=state, error=error, reason=reason
    )


async def record_read_until(
    session: AsyncSession,
    clock: Clock,
    *,
    inbox_id: int,
    identity_kind: str,
    identity_value: str,
    until: datetime,
) -> int:
    """A read watermark: our messages to that customer in that inbox, sent until ``until``,
    are read. Returns how many moved."""
    ids = await repo.outbound_ids_read_until(
        session, inbox_id, identity_kind, identity_value, until
    )
    for message_id in ids:
        await record_delivery(session, clock, message_id=message_id, state="read")
    return len(ids)


# Attachments ----------------------------------------------------------------------------


def check_attachment(
    limits: AttachmentSettings, filename: str, content_type: str, size: int
) -> str:
    """Refuse what is too large or of a type the account does not accept; return the type."""
    if size > limits.max_bytes:
        raise PayloadTooLarge(f"attachments may be at most {limits.max_bytes} bytes", field="file")
    kind = (content_type or "").split(";")[0].strip().lower()
    if not kind or kind == "application/octet-stream":
        kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    if not any(fnmatch(kind, pattern) for pattern in limits.allowed_types):
        raise UnsupportedMediaType(f"files of type {kind} are not accepted", field="file")
    return kind


async def _store_attachment(
    session: AsyncSession,
    clock: Clock,
    storage: Storage,
    *,
    account_id: int,
    uploaded_by_id: int | None,
    filename: str,
    content_type: str,
    data: bytes,
    content_id: str | None = None,
    message_id: int | None = None,
) -> Attachment:
    digest = hashlib.sha256(data).hexdigest()
    key = f"{account_id}/{digest[:2]}/{digest}"
    await storage.put(key, data)
    attachment = Attachment(
        account_id=account_id,
        message_id=message_id,
        uploaded_by_id=uploaded_by_id,
        filename=_safe_filename(filename),
        content_type=content_type,
        size=len(data),
        sha256=digest,
        storage_key=key,
        content_id=content_id,
        created_at=clock.now(),
    )
    session.add(attachment)
    await session.flush()
    return attachment


def _safe_filename(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(c for c in name if c.isprintable() and c not in '<>:"|?*')
    return (name or "attachment")[:255]


async def upload_attachment(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    storage: Storage,
    limits: AttachmentSettings,
    *,
    filename: str,
    content_type: str,
    data: bytes,
) -> Attachment:
    kind = check_attachment(limits, filename, content_type, len(data))
    return await _store_attachment(
        session,
        clock,
        storage,
        account_id=principal.account_id,
        uploaded_by_id=principal.user_id,
        filename=filename,
        content_type=kind,
        data=data,
    )


async def get_attachment(
    session: AsyncSession, principal: Principal, attachment_id: int
) -> Attachment:
    """An attachment is visible with its conversation; before that, to its uploader only."""
    attachment = await repo.get_attachment(session, principal.account_id, attachment_id)
    if attachment is None:
        raise NotFound("attachment")
    if attachment.message_id is None:
        if attachment.uploaded_by_id != principal.user_id and not principal.is_supervisor:
            raise NotFound("attachment")
        return attachment
    message = await repo.get_message(session, attachment.message_id)
    if (
        message is None
        or await repo.get_visible(session, principal, message.conversation_id) is None
    ):
        raise NotFound("attachment")
    return attachment


# Customers who leave ---------------------------------------------------------------------


@dataclass(frozen=True)
class ContactLeft:
    conversation: Conversation
    #: When the customer left (the first report, for a repeated one).
    left_at: datetime
    #: False: already reported since the customer's last message; nothing was changed.
    recorded: bool


async def contact_left(
    session: AsyncSession,
    clock: Clock,
    conversation: Conversation,
    *,
    reason: str | None = None,
) -> ContactLeft:
    """The customer left (a chat visitor gone, a caller who hung up), whatever the channel.

    Records ``conversation.contact_left``. A conversation still waiting for an agent (open,
    nobody holds it) becomes ``pending`` — waiting for the customer, reopened by their next
    message — and the router ends its work as *abandoned*; one an agent holds only gets the
    event (the agent sees the customer go). Idempotent: reported again before the customer
    writes again, nothing changes.
    """
    if not serialises_writers(session):
        # Two reports at once: the second waits, then finds the first.
        await repo.lock_conversation(session, conversation.id)
    already = await repo.contacts_left(
        session, [conversation.id], left=CONTACT_LEFT, received=MESSAGE_RECEIVED
    )
    if conversation.id in already:
        return ContactLeft(conversation, ensure_utc(already[conversation.id]), recorded=False)
    waiting = conversation.status == "open" and conversation.assignee_id is None
    await events.record(
        session,
        type=CONTACT_LEFT,
        clock=clock,
        data={"reason": reason, "status": conversation.status, "waiting": waiting},
        **_visibility(conversation),
    )
    if waiting:
        await change_status(session, clock, conversation, "pending", actor_user_id=None)
    return ContactLeft(conversation, clock.now(), recorded=True)


async def report_departure(
    session: AsyncSession,
    clock: Clock,
    *,
    account_id: int,
    inbox_id: int,
    departure: Departure,
    channel_type: str | None = None,
    handle_field: str | None = None,
) -> ContactLeft:
    """A channel's report of a customer who left, found like their messages: by the sender's
    handle and the thread in that inbox. NotFound for an unknown inbox (or another
    account's), an unknown customer or no such conversation; ValidationFailed (on
    ``handle_field``) for a handle that is not valid."""
    inbox = (await inboxes_repo.get_inboxes(session, [inbox_id])).get(inbox_id)
    if inbox is None or inbox.account_id != account_id:
        raise NotFound("inbox")
    if channel_type is not None and inbox.channel_type != channel_type:
        raise ValidationFailed(f"this inbox is not an {channel_type} inbox", field="inbox_id")
    sender = departure.sender
    try:
        value = contacts.normalise_identity(
            sender.kind, sender.value, await contacts.phone_region(session, account_id)
        )
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=handle_field or exc.field) from None
    contact = (await contacts.owners_of(session, account_id, [(sender.kind, value)])).get(
        (sender.kind, value)
    )
    conversation = None
    if contact is not None and departure.thread_id:
        conversation = await repo.find_thread(session, account_id, inbox.id, departure.thread_id)
        if conversation is not None and conversation.contact_id != contact.id:
            conversation = None  # another customer's thread is not theirs to leave
    elif contact is not None:
        conversation = await repo.latest_for_contact(session, account_id, inbox.id, contact.id)
    if conversation is None:
        raise NotFound("conversation")
    return await contact_left(session, clock, conversation, reason=departure.reason)
