"""The website live-chat adapter.

Visitors talk to omnidesk through the widget's own API (``endpoints.py``), not through
provider webhooks: ``verify``/``parse``/``status`` have nothing to read. An agent's reply
reaches the visitor through the event stream: the reply's ``message.created`` event is
published after commit (in-memory or Redis broker) and the visitor's websocket
(``stream.py``) forwards it, or replays it from the database when the visitor comes back.
So ``send`` — run by the outbox's ``channel.deliver`` job — only confirms the message as
sent.

A message left out of hours (``/offline``) opens a conversation that moves to the inbox's
email inbox (``config.offline_email_inbox_id``), so its replies are delivered by that inbox's
email adapter. Without an email inbox, such a conversation stays here and its replies fail
permanently, with an error that says why.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from omnidesk.channels.base import (
    AdapterContext,
    Capabilities,
    CheckEnvironment,
    CheckResult,
    Delivery,
    DeliveryFailed,
    DeliveryUpdate,
    Inbound,
    Outbound,
    WebhookRequest,
)
from omnidesk.channels.webchat.schemas import WebchatConfig, WebchatSecrets

#: The thread id of a conversation opened by a message left out of hours.
OFFLINE_THREAD_PREFIX = "offline:"


class WebchatChannel:
    name: ClassVar[str] = "webchat"
    capabilities: ClassVar[Capabilities] = Capabilities(
        attachments=True, max_attachment_bytes=0, typing=True, read_receipts=True
    )
    config_schema: ClassVar[type[BaseModel]] = WebchatConfig
    secrets_schema: ClassVar[type[BaseModel]] = WebchatSecrets
    #: The secrets key generated when the inbox is made and shown once (and rotatable).
    signing_secret_key: ClassVar[str] = "identity_secret"  # noqa: S105 (a key name)
    #: A reply goes to the visitor's socket; any identity will do to address it.
    reply_identity_kinds: ClassVar[tuple[str, ...]] = ("webchat", "external", "email")

    def __init__(self, context: AdapterContext) -> None:
        self.context = context
        self.config = WebchatConfig.model_validate(context.config)

    def verify(self, request: WebhookRequest) -> None:
        """Visitors authenticate with visitor tokens (``endpoints.py``), not webhooks."""

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        return []

    def status(self, request: WebhookRequest) -> list[DeliveryUpdate]:
        return []  # read receipts come through POST /widget/v1/{key}/read

    async def send(self, outbound: Outbound) -> Delivery:
        if (outbound.thread_id or "").startswith(OFFLINE_THREAD_PREFIX):
            raise DeliveryFailed(
                "the visitor left this message out of hours and is not on the chat: set the "
                "web-chat inbox's offline_email_inbox_id to answer such messages by email",
                permanent=True,
            )
        # Already on its way: the reply's event reaches the visitor's websocket after
        # commit, and the history replays it on their next connection.
        return Delivery(channel_message_id=f"webchat:{outbound.message_id}", state="sent")

    async def check(self, environment: CheckEnvironment) -> list[CheckResult]:
        """The widget key finds this inbox (and only this one), and the sites allowed to
        embed the widget are named."""
        key = self.config.widget_key
        owners = await environment.inboxes_with("widget_key", key)
        if owners == [self.context.inbox_id]:
            resolved = CheckResult("widget key", True, f"{key} opens this inbox's chat")
        elif self.context.inbox_id in owners:
            resolved = CheckResult(
                "widget key", False, "another inbox has the same widget key: give one a new key"
            )
        else:
            resolved = CheckResult("widget key", False, f"{key} does not find this inbox")
        origins = self.config.allowed_origins
        allowed = (
            CheckResult("allowed origins", True, ", ".join(origins))
            if origins
            else CheckResult(
                "allowed origins", False, "none: any site may embed this chat; name your sites"
            )
        )
        return [resolved, allowed]
