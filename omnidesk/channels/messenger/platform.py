"""What a Messenger and an Instagram inbox share: the Messenger Platform's adapter.

- Webhooks: ``X-Hub-Signature-256`` on every POST and the ``hub.challenge`` handshake on
  GET (``channels.meta``); the body is read by ``webhook.py``.
- Replies: ``POST /{page-id}/messages`` with ``recipient.id`` (the customer's PSID or
  IGSID), ``messaging_type: RESPONSE`` within 24 hours of the customer's last message, or
  ``MESSAGE_TAG`` + ``HUMAN_AGENT`` up to 7 days when the inbox allows it; otherwise the
  reply is refused as ``outside_window`` without calling Meta. Text longer than the
  platform's limit leaves as several messages; each file is a message of its own (the Send
  API takes one attachment per message, uploaded as ``filedata``).

Meta has no idempotency key: a reply split in parts whose later part fails is sent again
from its first part on retry. Subclasses name the webhook ``object``, the identity kind and
the account whose entries are theirs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from omnidesk.channels import meta
from omnidesk.channels.base import (
    AdapterContext,
    CheckEnvironment,
    CheckResult,
    Delivery,
    DeliveryFailed,
    DeliveryUpdate,
    Inbound,
    InboundAttachment,
    MediaRef,
    Outbound,
    ReadWatermark,
    WebhookReply,
    WebhookRequest,
)
from omnidesk.channels.messenger import webhook
from omnidesk.channels.messenger.graph import Graph
from omnidesk.channels.messenger.media import download
from omnidesk.channels.messenger.schemas import PlatformSecrets
from omnidesk.kit.clock import Clock, SystemClock, ensure_utc

#: The standard messaging window, and the HUMAN_AGENT tag's.
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)


class PlatformChannel:
    """The Messenger Platform adapter; a subclass per product (Messenger, Instagram)."""

    #: The webhook's ``object`` and the kind of the customers' identities.
    webhook_object: ClassVar[str]
    identity_kind: ClassVar[str]
    #: The longest text of one message, in characters (Messenger) or UTF-8 bytes (Instagram).
    max_text: ClassVar[int]
    text_in_bytes: ClassVar[bool] = False
    secrets_schema: ClassVar[type[BaseModel]] = PlatformSecrets
    #: The secret generated at creation and shown once to the admin.
    signing_secret_key: ClassVar[str] = "verify_token"  # noqa: S105 (a key name)
    #: The product's name, for the agent.
    product: ClassVar[str]
    #: The config key holding ``account_id``: no two inboxes should share its value.
    unique_key: ClassVar[str]

    #: The id webhooks name as ``entry.id`` (the Page, or the Instagram account).
    account_id: str
    #: The Page replies go out through.
    page_id: str
    #: Whether replies may use the HUMAN_AGENT tag (7 days) after the 24-hour window.
    human_agent_tag: bool

    @classmethod
    def reply_window_hours_for(cls, config: dict[str, Any]) -> int:
        """This inbox's reply window: a week when it may use the HUMAN_AGENT tag."""
        window = HUMAN_AGENT_WINDOW if config.get("human_agent_tag") else STANDARD_WINDOW
        return int(window.total_seconds() // 3600)

    def __init__(
        self,
        context: AdapterContext,
        *,
        graph_url: str | None = None,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.context = context
        self.secrets = PlatformSecrets.model_validate(
            {k: v for k, v in context.secrets.items() if k in PlatformSecrets.model_fields}
        )
        self._clock = clock or SystemClock()
        self._transport = transport
        self._read: tuple[bytes, webhook.Webhook] | None = None
        self.graph = Graph(
            graph_url or meta.graph_url(context.provider_urls),
            self.secrets.page_access_token,
            timeout_s=context.timeout_s,
            transport=transport,
        )

    async def account_check(self) -> CheckResult:
        """Whether the Page token can read what the inbox names (the Page, the IG account)."""
        raise NotImplementedError

    # Inbound --------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        meta.verify_signature(self.secrets.app_secret, request)

    def handshake(self, request: WebhookRequest) -> WebhookReply:
        return WebhookReply(body=meta.challenge(request, self.secrets.verify_token).encode())

    def read(self, request: WebhookRequest) -> webhook.Webhook:
        """The request's messages and receipts, read once however many times asked (the
        pipeline asks for messages, updates and watermarks in turn)."""
        if self._read is None or self._read[0] is not request.body:
            found = webhook.read(
                request.body,
                object_type=self.webhook_object,
                account_id=self.account_id,
                identity_kind=self.identity_kind,
            )
            self._read = (request.body, found)
        return self._read[1]

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        return self.read(request).inbound

    def status(self, request: WebhookRequest) -> list[DeliveryUpdate]:
        return self.read(request).updates

    def watermarks(self, request: WebhookRequest) -> list[ReadWatermark]:
        return self.read(request).watermarks

    async def fetch_media(self, media: MediaRef, *, max_bytes: int) -> InboundAttachment:
        return await download(
            media,
            max_bytes=max_bytes,
            allow_private=self.context.allow_private_addresses,
            timeout_s=self.context.timeout_s,
            transport=self._transport,
        )

    # Outbound -------------------------------------------------------------------------

    async def send(self, outbound: Outbound) -> Delivery:
        base = {"recipient": {"id": outbound.recipient}, **self._messaging_type(outbound)}
        path = f"{self.page_id}/messages"
        first: str | None = None
        for text in self.chunks(outbound.body.strip()):
            answer = await self.graph.post(path, {**base, "message": {"text": text}})
            first = first or _message_id(answer)
        for attachment in outbound.attachments:
            message = {"attachment": {"type": _kind(attachment), "payload": {"is_reusable": False}}}
            file = (attachment.filename, attachment.data, attachment.content_type)
            answer = await self.graph.post(path, {**base, "message": message}, file=file)
            first = first or _message_id(answer)
        if first is None:
            raise DeliveryFailed("the reply is empty", permanent=True, reason="rejected")
        return Delivery(channel_message_id=first, state="sent")

    def _messaging_type(self, outbound: Outbound) -> dict[str, str]:
        """``RESPONSE`` inside the 24-hour window, ``HUMAN_AGENT`` within 7 days if allowed.

        The window is judged when the agent answered (the reply's ``created_at``): a retry
        that reaches Meta after the window closed is refused by Meta (code 10).
        """
        last = outbound.customer_last_wrote_at
        if last is None:
            raise DeliveryFailed(
                "the customer has not written in this conversation: Meta only lets a business "
                "answer a person who wrote first",
                permanent=True,
                reason="outside_window",
            )
        age = self._answered_at(outbound) - ensure_utc(last)
        if age <= STANDARD_WINDOW:
            return {"messaging_type": "RESPONSE"}
        if self.human_agent_tag and age <= HUMAN_AGENT_WINDOW:
            return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
        allowed = "7 days (HUMAN_AGENT)" if self.human_agent_tag else "24 hours"
        raise DeliveryFailed(
            f"the customer last wrote {age.total_seconds() / 3600:.0f} hours ago; "
            f"{self.product} only allows answers within {allowed} of their last message",
            permanent=True,
            reason="outside_window",
        )

    def _answered_at(self, outbound: Outbound) -> datetime:
        created = outbound.meta.get("created_at")
        if isinstance(created, str):
            try:
                return ensure_utc(datetime.fromisoformat(created))
            except ValueError:
                pass
        return self._clock.now()

    def chunks(self, text: str) -> list[str]:
        """``text`` cut into messages within the platform's limit, at spaces if possible."""
        parts: list[str] = []
        while text:
            cut = self._fitting(text)
            if cut < len(text):
                space = text.rfind(" ", 0, cut + 1)
                cut = space if space > cut // 2 else cut
            parts.append(text[:cut].rstrip())
            text = text[cut:].lstrip()
        return [part for part in parts if part]

    def _fitting(self, text: str) -> int:
        if not self.text_in_bytes:
            return min(len(text), self.max_text)
        size, cut = 0, 0
        for cut, char in enumerate(text):
            size += len(char.encode())
            if size > self.max_text:
                return cut
        return len(text)

    # Checks ---------------------------------------------------------------------------

    async def check(self, environment: CheckEnvironment) -> list[CheckResult]:
        """The secrets are set and the Page token can read the Page (or IG account); nothing
        is sent to anyone."""
        results = [
            _present("app secret", self.secrets.app_secret, "webhooks cannot be verified"),
            _present("Page access token", self.secrets.page_access_token, "replies cannot leave"),
        ]
        if self.secrets.page_access_token:
            results.append(await self.account_check())
        same = await environment.inboxes_with(self.unique_key, self.account_id)
        others = [i for i in same if i != self.context.inbox_id]
        results.append(
            CheckResult(
                "one inbox per account",
                not others,
                f"inbox {others[0]} has the same id: their webhooks would be split"
                if others
                else "no other inbox uses this id",
            )
        )
        return results

    async def _lookup(self, what: str, path: str, fields: str) -> dict[str, Any] | CheckResult:
        try:
            return await self.graph.get(path, {"fields": fields})
        except DeliveryFailed as exc:
            return CheckResult(what, False, str(exc))


def _present(name: str, value: str | None, otherwise: str) -> CheckResult:
    return CheckResult(name, bool(value), "set" if value else f"not set: {otherwise}")


def _message_id(answer: dict[str, Any]) -> str | None:
    found = answer.get("message_id")
    return str(found)[:255] if found else None


def _kind(attachment: InboundAttachment) -> str:
    major = attachment.content_type.split("/")[0]
    return major if major in ("image", "video", "audio") else "file"
