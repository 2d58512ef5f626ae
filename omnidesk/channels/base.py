"""The small typed interfaces every channel adapter implements.

An adapter turns a provider's webhook request into :class:`Inbound` messages, and an
:class:`Outbound` message into a provider call. It is stateless apart from its inbox's
configuration, and it never touches the database: the pipeline around it verifies,
deduplicates, persists and acknowledges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol, get_args, runtime_checkable

from pydantic import BaseModel

DeliveryState = Literal["sent", "delivered", "read", "failed"]
#: Why a provider did not deliver, in words the agent's screen explains. ``rate_limited`` and
#: ``provider_unavailable`` are transient (retried); the others are final.
FailureReason = Literal[
    "invalid_recipient",
    "blocked",
    "outside_window",
    "rate_limited",
    "opted_out",
    "auth_failed",
    "rejected",
    "provider_unavailable",
]
FAILURE_REASONS: tuple[str, ...] = get_args(FailureReason)
#: A customer's answer to a channel's subscription keywords (SMS STOP / START).
Consent = Literal["opt_out", "opt_in"]


@dataclass(frozen=True)
class Capabilities:
    attachments: bool = False
    max_attachment_bytes: int = 0
    typing: bool = False
    read_receipts: bool = False
    templates: bool = False
    #: Free-form replies only within this many hours of the customer's last message (an
    #: adapter whose window depends on the inbox also has ``reply_window_hours_for(config)``).
    reply_window_hours: int | None = None
    voice: bool = False
    html: bool = False
    subject: bool = False


@dataclass(frozen=True)
class WebhookRequest:
    """What an adapter may read of an HTTP request, free of any web framework."""

    method: str
    url: str
    headers: dict[str, str]  # lower-cased names
    query: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class InboundSender:
    #: an identity kind from ``omnidesk.contacts.models.IDENTITY_KINDS``
    kind: str
    value: str
    name: str = ""
    extra_identities: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None


@dataclass(frozen=True)
class MediaRef:
    """A file the provider holds for a message (a media id or URL), fetched by the webhook
    pipeline through the adapter's :class:`MediaSource` capability before the message is
    stored."""

    ref: str
    content_type: str = ""
    filename: str = ""


@dataclass(frozen=True)
class Inbound:
    """One message from a customer, normalised."""

    channel_message_id: str
    sender: InboundSender
    body: str
    body_html: str | None = None
    subject: str | None = None
    thread_id: str | None = None
    sent_at: datetime | None = None
    attachments: tuple[InboundAttachment, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    #: The channel message ids this message answers, most relevant first (an email's
    #: In-Reply-To, then its References newest first): the writer threads it into the
    #: conversation of the newest one it stored, ours included.
    thread_refs: tuple[str, ...] = ()
    #: A conversation the channel proved this message belongs to (an email's signed
    #: plus-address token): honoured only within the message's own inbox and account.
    conversation_hint: int | None = None
    #: Files still at the provider, downloaded by the pipeline (see :class:`MediaRef`).
    media: tuple[MediaRef, ...] = ()
    #: The customer opted out of (or back into) messages on this channel.
    consent: Consent | None = None


@dataclass(frozen=True)
class Departure:
    """A customer who left before being served (a chat visitor gone, a caller who hung up),
    normalised: found by the same sender handle and thread as their messages.

    Channels hand it to ``conversations.service.report_departure``, which records
    ``conversation.contact_left``; the router then counts the waiting work as abandoned.
    """

    sender: InboundSender
    thread_id: str | None = None
    #: The provider's or caller's words for why (``hung_up``, ``closed_chat``…), kept for reports.
    reason: str | None = None


@dataclass(frozen=True)
class Outbound:
    """One message to a customer, ready for the provider."""

    message_id: int
    conversation_id: int
    idempotency_key: str
    recipient_kind: str
    recipient: str
    body: str
    body_html: str | None = None
    subject: str | None = None
    thread_id: str | None = None
    sender_name: str = ""
    attachments: tuple[InboundAttachment, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    #: When the customer last wrote in the conversation: channels with a reply window
    #: (``Capabilities.reply_window_hours``) refuse free text after it closes.
    customer_last_wrote_at: datetime | None = None


@dataclass(frozen=True)
class Delivery:
    """The provider's answer to a send."""

    channel_message_id: str | None
    state: DeliveryState = "sent"
    error: str | None = None


@dataclass(frozen=True)
class DeliveryUpdate:
    channel_message_id: str
    state: DeliveryState
    error: str | None = None
    reason: FailureReason | None = None


class DeliveryFailed(Exception):
    """A send that did not go through. ``permanent`` failures are not retried.

    The ``reason`` leads the text (``[outside_window] …``) because the text is what the job
    keeps of the last attempt: the dead-letter handler reads the reason back from it.
    """

    def __init__(
        self, message: str, *, permanent: bool = False, reason: FailureReason | None = None
    ) -> None:
        super().__init__(f"[{reason}] {message}" if reason else message)
        self.permanent = permanent
        self.reason = reason


class MediaUnavailable(Exception):
    """A provider's file that could not be fetched (gone, too large, refused): the message
    is stored without it, and says so in ``meta["media_errors"]``."""


@dataclass(frozen=True)
class WebhookReply:
    """What a webhook endpoint answers the provider, when the adapter has a say."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


class SignatureInvalid(Exception):
    """A webhook whose signature is missing or wrong: answered 403, nothing stored."""


@runtime_checkable
class ChannelAdapter(Protocol):
    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    #: Validates the inbox's non-secret configuration.
    config_schema: ClassVar[type[BaseModel]]
    #: Validates the inbox's secrets (stored encrypted).
    secrets_schema: ClassVar[type[BaseModel]]

    def verify(self, request: WebhookRequest) -> None:
        """Raise :class:`SignatureInvalid` unless the request really comes from the provider."""

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        """The customer messages in a verified webhook request (maybe none)."""

    async def send(self, outbound: Outbound) -> Delivery:
        """Hand a message to the provider; raise :class:`DeliveryFailed` when it refuses."""

    def status(self, request: WebhookRequest) -> list[DeliveryUpdate]:
        """Delivery and read updates in a verified webhook request (maybe none)."""


@runtime_checkable
class MediaSource(Protocol):
    """An optional capability: an adapter whose inbound files stay at the provider."""

    async def fetch_media(self, media: MediaRef, *, max_bytes: int) -> InboundAttachment:
        """Download one file with the provider's credentials; raise :class:`MediaUnavailable`
        when it is gone, refused or larger than ``max_bytes``."""


@runtime_checkable
class Handshake(Protocol):
    """An optional capability: a provider that proves a webhook URL with a GET before it
    sends anything to it (Meta's ``hub.challenge``)."""

    def handshake(self, request: WebhookRequest) -> WebhookReply:
        """Answer the challenge; raise :class:`SignatureInvalid` when its token is wrong."""


@dataclass(frozen=True)
class ReadWatermark:
    """A read receipt that names no message (Messenger's ``read.watermark``): every message
    of ours to the customer with this identity, in the webhook's inbox, sent until
    ``until`` has been read."""

    identity_kind: str
    identity_value: str
    until: datetime


@runtime_checkable
class Watermarking(Protocol):
    """An optional capability: a provider whose read receipts are watermarks."""

    def watermarks(self, request: WebhookRequest) -> list[ReadWatermark]:
        """The read watermarks in a verified webhook request (maybe none)."""


@runtime_checkable
class Acknowledging(Protocol):
    """An optional capability: a provider that expects a particular answer to its webhook
    (Twilio's empty TwiML ``<Response/>``) rather than an empty 200."""

    def acknowledge(self, request: WebhookRequest) -> WebhookReply:
        """The answer to a webhook request whose messages are stored."""


@dataclass(frozen=True)
class CheckResult:
    """One step of an inbox's connectivity check (``Checkable.check``)."""

    name: str
    ok: bool
    detail: str = ""


class CheckEnvironment(Protocol):
    """What an adapter's check may ask of omnidesk beyond its own configuration."""

    async def inboxes_with(self, key: str, value: str) -> list[int]:
        """The ids of the installation's inboxes of this channel type whose config holds
        ``value`` under ``key`` (a public handle such as a widget key must be unique)."""


@runtime_checkable
class Checkable(Protocol):
    """An optional capability: an adapter that can test its inbox's settings against the
    real provider (log in, resolve, look up) without sending anything to a customer.

    Each step is bounded by the context's timeout; failures are results, never raised.
    """

    async def check(self, environment: CheckEnvironment) -> list[CheckResult]:
        """The checks run, in order, each ok or not with a short human detail."""


class AdapterContext(BaseModel):
    """What an adapter is built with: its inbox's id, configuration and secrets."""

    inbox_id: int
    account_id: int
    config: dict[str, Any]
    secrets: dict[str, Any]
    public_url: str
    allow_private_addresses: bool = False
    timeout_s: float = 10.0
    #: The installation's key for this channel type (see ``registry.channel_key``): what
    #: a channel signs its own handles with, e.g. email's conversation tokens.
    channel_key: str = ""
    #: Providers' API base URLs from the settings, by provider (``telegram``,
    #: ``meta_graph``, ``twilio``): tests point them at loopback fakes.
    provider_urls: dict[str, str] = {}
