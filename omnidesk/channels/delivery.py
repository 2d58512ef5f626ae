"""The ``channel.deliver`` job: send one outbound message through its inbox's adapter.

The conversations service enqueues it (payload ``{"message_id": …}``) in the transaction
that stores an agent's reply. The data is read in a short transaction of its own, the
provider is called with no database lock held, and the outcome is recorded in the job's
unit of work, so "sent" and the job's completion commit together. Transient failures are
retried by the runner; permanent ones, or the last retry, mark the message failed.
"""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts import repository as accounts
from omnidesk.channels.base import FAILURE_REASONS, InboundAttachment, Outbound
from omnidesk.channels.registry import build_adapter, get_adapter_class
from omnidesk.contacts import repository as contacts
from omnidesk.contacts.models import IDENTITY_KINDS
from omnidesk.conversations import repository as conversations_repo
from omnidesk.conversations import service as conversations
from omnidesk.conversations.models import Message
from omnidesk.conversations.service import DELIVER_JOB
from omnidesk.inboxes.models import Inbox
from omnidesk.jobs.models import Job
from omnidesk.jobs.runner import JobContext, JobRunner, PermanentJobError
from omnidesk.kit.storage import Storage

#: Already with the provider: a repeated job (an admin retry) must not send it again.
_DELIVERED = ("sent", "delivered", "read")


def register(runner: JobRunner) -> None:
    runner.register(DELIVER_JOB, deliver, on_dead=mark_failed)


async def deliver(ctx: JobContext, job: Job) -> None:
    message_id = int(job.payload["message_id"])
    async with ctx.db.transaction() as session:
        prepared = await _prepare(session, job, message_id, ctx.storage)
    if prepared is None:
        return
    inbox, outbound = prepared
    adapter = build_adapter(inbox, ctx.secret_box, ctx.settings)
    delivery = await adapter.send(outbound)
    await conversations.record_delivery(
        ctx.session,
        ctx.clock,
        message_id=message_id,
        state=delivery.state,
        channel_message_id=delivery.channel_message_id,
        error=delivery.error,
    )


async def mark_failed(ctx: JobContext, job: Job) -> None:
    """The job is dead: the message will not go out, so say so on it, and why."""
    await conversations.record_delivery(
        ctx.session,
        ctx.clock,
        message_id=int(job.payload["message_id"]),
        state="failed",
        channel_message_id=None,
        error=job.last_error,
        reason=failure_reason(job.last_error),
    )


#: ``DeliveryFailed`` puts its reason first: ``DeliveryFailed: [outside_window] …``.
_REASON = re.compile(r"^DeliveryFailed: \[([a-z_]+)\]")


def failure_reason(error: str | None) -> str | None:
    """The :data:`FailureReason` a dead delivery job's last error names, if any."""
    found = _REASON.match(error or "")
    return found.group(1) if found and found.group(1) in FAILURE_REASONS else None


async def _prepare(
    session: AsyncSession, job: Job, message_id: int, storage: Storage
) -> tuple[Inbox, Outbound] | None:
    message = await conversations_repo.get_message(session, message_id)
    if message is None or (job.account_id is not None and message.account_id != job.account_id):
        raise PermanentJobError(f"message {message_id} does not exist")
    if message.direction != "outbound" or message.kind != "message":
        raise PermanentJobError(f"message {message_id} is not an outbound message")
    if message.delivery_status in _DELIVERED:
        return None
    conversation = await conversations_repo.get_in_account(
        session, message.account_id, message.conversation_id
    )
    if conversation is None:
        raise PermanentJobError(f"the conversation of message {message_id} is gone")
    inbox_id = message.inbox_id or conversation.inbox_id
    inbox = await session.get(Inbox, inbox_id) if inbox_id is not None else None
    if inbox is None or inbox.account_id != message.account_id:
        raise PermanentJobError("the message has no inbox to go out through")
    adapter = get_adapter_class(inbox.channel_type)
    kinds: tuple[str, ...] = getattr(adapter, "reply_identity_kinds", IDENTITY_KINDS)
    identities = (await contacts.identities_of(session, [conversation.contact_id]))[
        conversation.contact_id
    ]
    reachable = sorted(
        (i for i in identities if i.kind in kinds), key=lambda i: (kinds.index(i.kind), i.id)
    )
    if not reachable:
        raise PermanentJobError(f"the contact has no {'/'.join(kinds)} identity to reply to")
    last_inbound, last_outbound = await conversations_repo.last_exchanged(
        session, message.conversation_id, message.id
    )
    sender_name = ""
    if message.sender_type == "user" and message.sender_id is not None:
        user = await accounts.get_user(session, message.account_id, message.sender_id)
        sender_name = user.name if user is not None else ""
    outbound = Outbound(
        message_id=message.id,
        conversation_id=conversation.id,
        idempotency_key=job.idempotency_key,
        recipient_kind=reachable[0].kind,
        recipient=reachable[0].value,
        body=message.body,
        body_html=message.body_html,
        subject=conversation.subject or None,
        thread_id=conversation.channel_thread_id,
        sender_name=sender_name,
        attachments=await _attachments(session, storage, message.id)
        if adapter.capabilities.attachments
        else (),
        meta={
            "created_at": message.created_at.isoformat(),
            # Who speaks: "user" (an agent) or "system" (an automatic answer).
            "sender_type": message.sender_type,
            # The recipient's word on messages (SMS STOP): a channel honouring it refuses.
            "recipient_consent": reachable[0].consent,
            # 2 and more: an earlier attempt may have reached the provider unbeknownst to us.
            "attempt": job.attempts,
            # What the agent chose (an email's To, Cc, Subject); the channel's defaults else.
            "composed": {k: message.meta[k] for k in ("to", "cc", "subject") if k in message.meta},
            # A channel's pre-approved template chosen by the agent (WhatsApp), if any.
            "template": message.meta.get("template"),
            **_thread(last_inbound, last_outbound),
        },
        customer_last_wrote_at=last_inbound.created_at if last_inbound is not None else None,
    )
    return inbox, outbound


async def _attachments(
    session: AsyncSession, storage: Storage, message_id: int
) -> tuple[InboundAttachment, ...]:
    """The files of an agent's reply, for a channel that sends them (email)."""
    rows = (await conversations_repo.attachments_of(session, [message_id]))[message_id]
    if not rows:
        return ()
    files = []
    for row in rows:
        try:
            data = await storage.get(row.storage_key)
        except FileNotFoundError:
            raise PermanentJobError(f"attachment {row.id} is missing from storage") from None
        files.append(InboundAttachment(row.filename, row.content_type, data, row.content_id))
    return tuple(files)


def _thread(inbound: Message | None, outbound: Message | None) -> dict[str, object]:
    """What a channel threads a reply with: the customer's last message in the conversation
    (its provider id and metadata: an email's Message-ID, References, To and Cc) and the id
    the provider gave our previous message."""
    return {
        "last_inbound": None
        if inbound is None
        else {"channel_message_id": inbound.channel_message_id, "meta": dict(inbound.meta)},
        "last_outbound_id": outbound.channel_message_id if outbound is not None else None,
    }
