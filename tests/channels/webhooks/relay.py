"""A provider for the webhook pipeline's tests: "relay" signs its webhooks with a shared token
in a header, posts JSON, keeps files to be fetched, proves URLs with a GET challenge and
expects its own acknowledgement."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from omnidesk.channels.base import (
    AdapterContext,
    Capabilities,
    Delivery,
    DeliveryUpdate,
    Inbound,
    InboundAttachment,
    InboundSender,
    MediaRef,
    MediaUnavailable,
    Outbound,
    SignatureInvalid,
    WebhookReply,
    WebhookRequest,
)
from omnidesk.kit.errors import ValidationFailed

#: The files the provider holds, by reference.
FILES: dict[str, tuple[str, bytes]] = {
    "photo-1": ("image/png", b"\x89PNG\r\n\x1a\n" + b"0" * 64),
    "huge-1": ("video/mp4", b"0" * 4096),
}


class RelayConfig(BaseModel):
    pass


class RelaySecrets(BaseModel):
    token: str = ""


class RelayChannel:
    name: ClassVar[str] = "relay"
    capabilities: ClassVar[Capabilities] = Capabilities(attachments=True, max_attachment_bytes=1024)
    config_schema: ClassVar[type[BaseModel]] = RelayConfig
    secrets_schema: ClassVar[type[BaseModel]] = RelaySecrets
    inbound_path: ClassVar[str] = "/api/v1/webhooks/relay/{inbox_id}"

    def __init__(self, context: AdapterContext) -> None:
        self.token = str(context.secrets.get("token", ""))

    def verify(self, request: WebhookRequest) -> None:
        if not self.token or request.header("x-relay-token") != self.token:
            raise SignatureInvalid("bad relay token")

    def _payload(self, request: WebhookRequest) -> dict[str, Any]:
        try:
            payload = json.loads(request.body)
        except ValueError as exc:
            raise ValidationFailed(f"not JSON: {exc}", field="body") from exc
        if not isinstance(payload, dict):
            raise ValidationFailed("expected an object", field="body")
        return payload

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        try:
            messages = [
                _RelayMessage.model_validate(m) for m in self._payload(request).get("messages", [])
            ]
        except ValidationError as exc:
            raise ValidationFailed(str(exc.errors()[0]["msg"]), field="messages") from exc
        return [
            Inbound(
                channel_message_id=m.id,
                sender=InboundSender(kind="external", value=m.sender),
                body=m.text,
                media=tuple(MediaRef(ref) for ref in m.media),
                meta={"signed_url": request.url},
            )
            for m in messages
        ]

    def status(self, request: WebhookRequest) -> list[DeliveryUpdate]:
        return [
            DeliveryUpdate(s["id"], s["state"], s.get("error"), s.get("reason"))
            for s in self._payload(request).get("statuses", [])
        ]

    async def fetch_media(self, media: MediaRef, *, max_bytes: int) -> InboundAttachment:
        found = FILES.get(media.ref)
        if found is None:
            raise MediaUnavailable("the provider no longer has it")
        content_type, data = found
        if len(data) > max_bytes:
            raise MediaUnavailable(f"larger than {max_bytes} bytes")
        return InboundAttachment(f"{media.ref}.bin", content_type, data)

    def handshake(self, request: WebhookRequest) -> WebhookReply:
        if request.query.get("token") != self.token:
            raise SignatureInvalid("bad verify token")
        return WebhookReply(body=request.query.get("challenge", "").encode())

    def acknowledge(self, request: WebhookRequest) -> WebhookReply:
        return WebhookReply(body=b"<Response/>", content_type="text/xml")

    async def send(self, outbound: Outbound) -> Delivery:
        return Delivery(channel_message_id=f"relay-{outbound.message_id}")


class _RelayMessage(BaseModel):
    id: str
    sender: str
    text: str = ""
    media: list[str] = []
