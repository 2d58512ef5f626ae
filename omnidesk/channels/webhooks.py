"""The one webhook endpoint of every messaging provider (SMS, WhatsApp, Messenger, Telegram…).

``POST /api/v1/webhooks/{channel_type}/{inbox_id}``: the inbox's adapter verifies the
signature (403, nothing stored), parses the customer's messages (422 when malformed), the
files they point at are downloaded through the adapter, the messages are stored once (a
repeated provider id is found, not stored again) and the provider's delivery and read
receipts are applied to our messages. Only then is the provider answered, so that anything
it does not hear acknowledged it sends again. ``GET`` on the same path answers providers
that prove a webhook URL before using it (Meta's ``hub.challenge``).

Each step runs in a short transaction of its own: nothing holds the database while a
provider's file downloads.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from omnidesk.channels.base import (
    Acknowledging,
    ChannelAdapter,
    Handshake,
    Inbound,
    InboundAttachment,
    MediaSource,
    MediaUnavailable,
    SignatureInvalid,
    Watermarking,
    WebhookRequest,
)
from omnidesk.channels.registry import build_adapter
from omnidesk.conversations import service as conversations
from omnidesk.conversations.service import InboundItem
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.errors import (
    Forbidden,
    NotFound,
    OmnideskError,
    PayloadTooLarge,
    ValidationFailed,
    error_body,
)
from omnidesk.kit.types import RowId
from omnidesk.settings import AttachmentSettings, Settings
from omnidesk.web.deps import ClockDep, ContainerDep

if TYPE_CHECKING:
    from omnidesk.bootstrap import Container

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1/webhooks", tags=["provider webhooks"])

#: A webhook body larger than this is refused (413): providers send files by reference.
MAX_BODY_BYTES = 1024 * 1024
#: Files of one webhook downloaded at once.
MEDIA_CONCURRENCY = 4
PATH = "/{channel_type}/{inbox_id}"
_ERRORS: dict[int | str, dict[str, str]] = {
    403: {"description": "The signature (or the handshake's token) is missing or wrong"},
    404: {"description": "No inbox of this channel type with this id"},
    413: {"description": "The body is larger than 1 MiB"},
    422: {"description": "The provider's payload is malformed"},
}


@router.post(
    PATH,
    summary="Receive a messaging provider's webhook (customer messages and receipts)",
    description="The URL an inbox's admin gives the provider (shown as the inbox's "
    "`webhook_url`). The request must carry the provider's signature (Twilio's "
    "`X-Twilio-Signature`, Meta's `X-Hub-Signature-256`, Telegram's "
    "`X-Telegram-Bot-Api-Secret-Token`…); a forged or missing one is refused with 403 and "
    "nothing is stored. Messages are stored once per provider message id, so a provider's "
    "retry stores nothing twice. The answer is the provider's expected acknowledgement.",
    responses=_ERRORS,
)
async def receive_webhook(
    channel_type: str,
    inbox_id: RowId,
    request: Request,
    container: ContainerDep,
    clock: ClockDep,
) -> Response:
    webhook = await _webhook_request(request, container.settings)
    inbox = await _inbox(container, channel_type, inbox_id)
    adapter = build_adapter(inbox, container.secret_box, container.settings)
    _verify(adapter, webhook, inbox)
    try:
        inbounds = adapter.parse(webhook)
        updates = adapter.status(webhook)
        watermarks = adapter.watermarks(webhook) if isinstance(adapter, Watermarking) else []
    except OmnideskError:
        raise
    except ValueError as exc:  # a payload the provider's schema would not allow
        raise ValidationFailed(f"the {inbox.channel_type} payload is malformed: {exc}") from exc
    if isinstance(adapter, MediaSource):
        limits = container.settings.attachments
        inbounds = await _with_media(adapter, inbounds, limits, inbox)
    assert container.inbound is not None
    refused: OmnideskError | None = None
    for inbound in inbounds:
        # One message refused does not cost the others theirs: they are stored, and the
        # provider, told 4xx, may send the batch again (stored ones are found, not doubled).
        try:
            outcome = await container.inbound.receive(
                InboundItem(
                    account_id=inbox.account_id,
                    inbox_id=inbox.id,
                    inbound=inbound,
                    channel_type=inbox.channel_type,
                )
            )
        except OmnideskError as exc:
            refused = refused or exc
            continue
        log.info(
            "webhook_message",
            inbox_id=inbox.id,
            channel_message_id=inbound.channel_message_id,
            created=outcome.created,
        )
    if updates:
        async with container.db.transaction() as session:
            for update in updates:
                await conversations.record_delivery_update(
                    session,
                    clock,
                    inbox_id=inbox.id,
                    channel_message_id=update.channel_message_id,
                    state=update.state,
                    error=update.error,
                    reason=update.reason,
                )
    if watermarks:
        async with container.db.transaction() as session:
            for watermark in watermarks:
                await conversations.record_read_until(
                    session,
                    clock,
                    inbox_id=inbox.id,
                    identity_kind=watermark.identity_kind,
                    identity_value=watermark.identity_value,
                    until=watermark.until,
                )
    if refused is not None:
        raise refused
    if isinstance(adapter, Acknowledging):
        reply = adapter.acknowledge(webhook)
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type)
    return Response(b'{"ok":true}', media_type="application/json")


@router.get(
    PATH,
    summary="Answer a messaging provider's webhook verification (handshake)",
    description="Providers that prove a webhook URL before sending to it call it with a "
    "challenge: Meta sends `hub.mode=subscribe`, the inbox's verify token and "
    "`hub.challenge`, which is echoed back when the token matches. Channels without a "
    "handshake answer 405.",
    responses={**_ERRORS, 405: {"description": "This channel has no handshake"}},
)
async def verify_webhook(
    channel_type: str, inbox_id: RowId, request: Request, container: ContainerDep
) -> Response:
    webhook = await _webhook_request(request, container.settings)
    inbox = await _inbox(container, channel_type, inbox_id)
    adapter = build_adapter(inbox, container.secret_box, container.settings)
    if not isinstance(adapter, Handshake):
        log.info("webhook_handshake_unsupported", inbox_id=inbox.id)
        return JSONResponse(
            error_body("method_not_allowed", "this channel has no webhook handshake"),
            status_code=405,
        )
    try:
        reply = adapter.handshake(webhook)
    except SignatureInvalid as exc:
        log.warning("webhook_handshake_refused", inbox_id=inbox.id, reason=str(exc))
        raise Forbidden("the webhook verification token is wrong") from exc
    return Response(reply.body, status_code=reply.status, media_type=reply.content_type)


async def _webhook_request(request: Request, settings: Settings) -> WebhookRequest:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"webhook bodies may be at most {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"webhook bodies may be at most {MAX_BODY_BYTES} bytes")
    # Providers sign the URL they were given, which is the public one, not the one a proxy
    # in front of omnidesk forwards to.
    url = settings.public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    return WebhookRequest(
        method=request.method,
        url=url,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
        body=bytes(body),
    )


async def _inbox(container: Container, channel_type: str, inbox_id: int) -> Inbox:
    async with container.db.transaction() as session:
        inbox = await session.get(Inbox, inbox_id)
    if inbox is None or inbox.channel_type != channel_type:
        raise NotFound("inbox")
    return inbox


def _verify(adapter: ChannelAdapter, webhook: WebhookRequest, inbox: Inbox) -> None:
    try:
        adapter.verify(webhook)
    except SignatureInvalid as exc:
        log.warning(
            "webhook_signature_refused",
            inbox_id=inbox.id,
            channel_type=inbox.channel_type,
            reason=str(exc),
        )
        raise Forbidden("the webhook's signature is missing or wrong") from exc


async def _with_media(
    adapter: MediaSource, inbounds: list[Inbound], limits: AttachmentSettings, inbox: Inbox
) -> list[Inbound]:
    """The messages with their provider-held files downloaded; a file that cannot be had is
    named in the message's ``meta["media_errors"]`` and the message is stored without it."""
    gate = asyncio.Semaphore(MEDIA_CONCURRENCY)

    async def fetch(inbound: Inbound) -> Inbound:
        if not inbound.media:
            return inbound
        files: list[InboundAttachment] = []
        errors: list[dict[str, str]] = []
        for media in inbound.media:
            try:
                async with gate:
                    file = await adapter.fetch_media(media, max_bytes=limits.max_bytes)
                if len(file.data) > limits.max_bytes:
                    raise MediaUnavailable(f"larger than {limits.max_bytes} bytes")
                kind = conversations.check_attachment(
                    limits, file.filename, file.content_type, len(file.data)
                )
                files.append(replace(file, content_type=kind))
            except (MediaUnavailable, OmnideskError) as exc:
                reason = exc.message if isinstance(exc, OmnideskError) else str(exc)
                log.warning(
                    "webhook_media_unavailable", inbox_id=inbox.id, ref=media.ref, reason=reason
                )
                errors.append({"ref": media.ref, "reason": reason})
        meta = {**inbound.meta, "media_errors": errors} if errors else inbound.meta
        return replace(
            inbound,
            attachments=(*inbound.attachments, *files),
            media=(),
            meta=meta,
        )

    return list(await asyncio.gather(*(fetch(i) for i in inbounds)))
