"""The WhatsApp Cloud API adapter.

Webhooks (``POST /api/v1/webhooks/whatsapp/{inbox_id}``) are signed with the Meta app's
secret (``X-Hub-Signature-256``); the URL is proven once with Meta's ``hub.challenge`` GET.
Customers' files stay at Meta until fetched: ``GET /{media-id}`` gives a short-lived URL,
downloaded with the access token. Replies are ``POST /{phone-number-id}/messages``.

The 24-hour rule: free-form messages may only be sent within 24 hours of the customer's
last message; after that only an approved template (``outbound.meta["template"]``) opens
the conversation again. Free text outside the window is refused here, before any call.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from omnidesk.channels import meta
from omnidesk.channels.base import (
    AdapterContext,
    Capabilities,
    CheckEnvironment,
    CheckResult,
    Delivery,
    DeliveryFailed,
    DeliveryUpdate,
    Inbound,
    InboundAttachment,
    MediaRef,
    MediaUnavailable,
    Outbound,
    WebhookReply,
    WebhookRequest,
)
from omnidesk.channels.whatsapp import inbound
from omnidesk.channels.whatsapp.schemas import WhatsappConfig, WhatsappSecrets
from omnidesk.kit.errors import ValidationFailed

WINDOW_HOURS = 24
#: The Cloud API's largest media (documents); images are 5 MB, audio and video 16 MB.
MAX_MEDIA_BYTES = 100 * 1024 * 1024
MAX_CAPTION_CHARS = 1024
MAX_TEXT_CHARS = 4096
_CAPTIONED = ("image", "video", "document")


def media_type(content_type: str) -> str:
    """How the Cloud API sends a file of this type."""
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("image/jpeg", "image/png"):
        return "image"
    if kind == "image/webp":
        return "sticker"
    if kind.startswith("audio/"):
        return "audio"
    if kind in ("video/mp4", "video/3gpp"):
        return "video"
    return "document"


def window_open(outbound: Outbound) -> bool:
    """Whether free text may still go: the customer wrote less than 24 h before the reply
    was written (Meta refuses later sends itself, with 131047)."""
    last = outbound.customer_last_wrote_at
    written = outbound.meta.get("created_at")
    if last is None or not isinstance(written, str):
        return False
    return datetime.fromisoformat(written) - last < timedelta(hours=WINDOW_HOURS)


class WhatsappChannel:
    name: ClassVar[str] = "whatsapp"
    capabilities: ClassVar[Capabilities] = Capabilities(
        attachments=True,
        max_attachment_bytes=16 * 1024 * 1024,
        read_receipts=True,
        templates=True,
        reply_window_hours=WINDOW_HOURS,
    )
    config_schema: ClassVar[type[BaseModel]] = WhatsappConfig
    secrets_schema: ClassVar[type[BaseModel]] = WhatsappSecrets
    inbound_path: ClassVar[str] = "/api/v1/webhooks/whatsapp/{inbox_id}"
    #: A contact known only by SMS can still be reached (with a template).
    reply_identity_kinds: ClassVar[tuple[str, ...]] = ("whatsapp", "phone")

    def __init__(
        self, context: AdapterContext, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.context = context
        self.config = WhatsappConfig.model_validate(context.config)
        self._secrets = {k: v for k, v in context.secrets.items() if isinstance(v, str)}
        self._graph = meta.graph_url(context.provider_urls)
        self._transport = transport

    # Inbound --------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        meta.verify_signature(self._secrets.get("app_secret"), request)

    def handshake(self, request: WebhookRequest) -> WebhookReply:
        answer = meta.challenge(request, self._secrets.get("verify_token"))
        return WebhookReply(body=answer.encode())

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        return [m for value in self._values(request) for m in inbound.messages(value)]

    def status(self, request: WebhookRequest) -> list[DeliveryUpdate]:
        return [u for value in self._values(request) for u in inbound.statuses(value)]

    def _values(self, request: WebhookRequest) -> list[dict[str, Any]]:
        try:
            payload = json.loads(request.body)
        except ValueError:
            raise ValidationFailed("the webhook body is not JSON") from None
        return list(inbound.values(payload, self.config.phone_number_id))

    async def fetch_media(self, media: MediaRef, *, max_bytes: int) -> InboundAttachment:
        """``GET /{media-id}`` for a short-lived URL, then the file itself, both with the
        token; refused when Meta says it is larger than ``max_bytes`` or it turns out so."""
        async with self._client() as client:
            try:
                found = await client.get(f"{self._graph}/{media.ref}")
                if found.status_code >= 400:
                    failure = meta.graph_failure(found.status_code, found.content)
                    raise MediaUnavailable(f"media {media.ref}: {failure.message}")
                info = found.json()
                size = int(info.get("file_size") or 0)
                if size > max_bytes:
                    raise MediaUnavailable(f"{size} bytes is more than the {max_bytes} allowed")
                url = str(info.get("url") or "")
                if not url.startswith(("https://", "http://")):
                    raise MediaUnavailable(f"media {media.ref} has no download URL")
                data = await _download(client, url, max_bytes)
            except (httpx.HTTPError, ValueError) as exc:
                raise MediaUnavailable(f"media {media.ref}: {exc}") from exc
        content_type = media.content_type or str(info.get("mime_type") or "")
        return InboundAttachment(
            filename=media.filename or media.ref,
            content_type=content_type.split(";")[0].strip() or "application/octet-stream",
            data=data,
        )

    # Outbound -------------------------------------------------------------------------

    async def send(self, outbound: Outbound) -> Delivery:
        template = outbound.meta.get("template")
        if not isinstance(template, dict) and not window_open(outbound):
            raise DeliveryFailed(
                "more than 24 hours since the customer last wrote: only an approved "
                "template may be sent",
                permanent=True,
                reason="outside_window",
            )
        to = outbound.recipient.lstrip("+")
        async with self._client() as client:
            if isinstance(template, dict):
                return await self._post(client, to, "template", _template(template))
            last: Delivery | None = None
            body = outbound.body.strip()
            for position, attachment in enumerate(outbound.attachments):
                kind = media_type(attachment.content_type)
                media: dict[str, Any] = {"id": await self._upload(client, attachment)}
                if kind == "document":
                    media["filename"] = attachment.filename
                alone = len(outbound.attachments) == 1 and position == 0
                if alone and kind in _CAPTIONED and body and len(body) <= MAX_CAPTION_CHARS:
                    media["caption"], body = body, ""
                last = await self._post(client, to, kind, media)
            if body:
                last = await self._post(
                    client, to, "text", {"preview_url": False, "body": body[:MAX_TEXT_CHARS]}
                )
        if last is None:
            raise DeliveryFailed("nothing to send", permanent=True, reason="rejected")
        return last

    async def _post(
        self, client: httpx.AsyncClient, to: str, kind: str, content: dict[str, Any]
    ) -> Delivery:
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": kind,
            kind: content,
        }
        response = await _call(
            client.post(f"{self._graph}/{self.config.phone_number_id}/messages", json=payload)
        )
        sent = response.json().get("messages") or [{}]
        wamid = sent[0].get("id") if isinstance(sent[0], dict) else None
        return Delivery(channel_message_id=str(wamid) if wamid else None)

    async def _upload(self, client: httpx.AsyncClient, attachment: InboundAttachment) -> str:
        response = await _call(
            client.post(
                f"{self._graph}/{self.config.phone_number_id}/media",
                data={"messaging_product": "whatsapp", "type": attachment.content_type},
                files={"file": (attachment.filename, attachment.data, attachment.content_type)},
            )
        )
        media_id = response.json().get("id")
        if not media_id:
            raise DeliveryFailed("the media upload returned no id", reason="provider_unavailable")
        return str(media_id)

    # Templates and checks -------------------------------------------------------------

    async def message_templates(self) -> list[dict[str, Any]]:
        """Every template of the business account, following Meta's paging cursors."""
        templates: list[dict[str, Any]] = []
        params = {"fields": "name,language,status,category,components", "limit": "100"}
        url = f"{self._graph}/{self.config.business_account_id}/message_templates"
        async with self._client() as client:
            for _ in range(50):  # 5,000 templates: far above Meta's per-account cap
                response = await _call(client.get(url, params=params))
                page = response.json()
                templates.extend(t for t in page.get("data") or [] if isinstance(t, dict))
                paging = page.get("paging") or {}
                after = (paging.get("cursors") or {}).get("after")
                if not paging.get("next") or not after:
                    break
                params = {**params, "after": str(after)}
        return templates

    async def check(self, environment: CheckEnvironment) -> list[CheckResult]:
        """The phone number and the business account, read with the token; the webhook
        secrets set."""
        results = [
            CheckResult(
                "app secret and verify token",
                bool(self._secrets.get("app_secret") and self._secrets.get("verify_token")),
                "set" if self._secrets.get("app_secret") else "missing: webhooks are refused",
            )
        ]
        results.append(await self._check_number())
        try:
            count = len(await self.message_templates())
        except DeliveryFailed as exc:
            results.append(CheckResult("business account", False, str(exc)))
        else:
            results.append(CheckResult("business account", True, f"{count} message templates"))
        return results

    async def _check_number(self) -> CheckResult:
        fields = "display_phone_number,verified_name,quality_rating"
        try:
            async with self._client() as client:
                response = await _call(
                    client.get(
                        f"{self._graph}/{self.config.phone_number_id}", params={"fields": fields}
                    )
                )
        except DeliveryFailed as exc:
            return CheckResult("phone number", False, str(exc))
        number = response.json()
        detail = (
            f"{number.get('verified_name', '?')} {number.get('display_phone_number', '?')}, "
            f"quality {number.get('quality_rating', 'unknown')}"
        )
        return CheckResult("phone number", True, detail)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            headers={"Authorization": f"Bearer {self._secrets.get('access_token', '')}"},
            timeout=self.context.timeout_s,
            transport=self._transport,
        )


async def _call(request: Any) -> httpx.Response:
    """Await a Graph API call; a refusal or an unreachable API becomes ``DeliveryFailed``
    with its reason (rate limits and outages retried, the rest final)."""
    try:
        response: httpx.Response = await request
    except httpx.HTTPError as exc:
        failure = meta.unavailable(f"the Graph API did not answer: {exc!r}")
    else:
        if response.status_code < 400:
            return response
        failure = meta.graph_failure(response.status_code, response.content)
    raise meta.delivery_failed(failure)


async def _download(client: httpx.AsyncClient, url: str, max_bytes: int) -> bytes:
    async with client.stream("GET", url) as response:
        if response.status_code >= 400:
            raise MediaUnavailable(f"the download answered {response.status_code}")
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise MediaUnavailable(f"larger than the {max_bytes} bytes allowed")
            chunks.append(chunk)
    return b"".join(chunks)


def _template(template: dict[str, Any]) -> dict[str, Any]:
    """The send API's template object from what the message stored."""
    return {
        "name": template["name"],
        "language": {"code": template["language"]},
        "components": template.get("components") or [],
    }
