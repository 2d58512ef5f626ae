"""The web-chat channel's shapes: its inbox configuration and secrets, and the visitor
protocol's requests and answers (docs/channels/webchat.md, "Visitor protocol (v1)")."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omnidesk.kit.types import RowId, Text

#: The public widget key: 22+ URL-safe characters.
WIDGET_KEY = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Pre-chat fields filled on the contact itself rather than as custom attributes.
CONTACT_FIELDS = ("name", "email")


def new_widget_key() -> str:
    return secrets.token_urlsafe(18)  # 24 characters


def new_identity_secret() -> str:
    return "wcid_" + secrets.token_urlsafe(32)


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` (lower-case, default port dropped), or None if not a web URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    default = 443 if scheme == "https" else 80
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


class PreChatField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(
        description="`name` and `email` fill the contact; any other name is a contact "
        "attribute of that key (defined under /api/v1/attribute-definitions)."
    )
    label: Text = Field(min_length=1, max_length=200)
    type: Literal["text", "email", "number", "select"] = "text"
    required: bool = False
    options: list[Text] | None = Field(default=None, max_length=50)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _FIELD_NAME.fullmatch(value):
            raise ValueError("lower-case letters, digits and _, starting with a letter")
        return value

    @model_validator(mode="after")
    def _options(self) -> PreChatField:
        if self.type == "select" and not self.options:
            raise ValueError("a select field needs options")
        return self


class PreChatForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    fields: list[PreChatField] = Field(default=[], max_length=20)


class WebchatConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    widget_key: str = Field(
        default_factory=new_widget_key,
        description="The public key in the embed snippet, made when the inbox is created. "
        "Keep it when changing the config (a config without it gets a new key, and the "
        "snippets on your pages stop working).",
    )
    title: Text = Field(default="Chat with us", max_length=100)
    greeting: Text = Field(default="Hi! How can we help?", max_length=500)
    colour: str = Field(default="#2563eb", description="The widget's colour, `#rrggbb`.")
    pre_chat_form: PreChatForm = PreChatForm()
    allowed_origins: list[str] = Field(
        default=[],
        max_length=100,
        description="The sites (`scheme://host[:port]`) allowed to embed the widget; empty "
        "means any.",
    )
    offline_email_inbox_id: RowId | None = Field(
        default=None,
        description="The email inbox that answers messages left while nobody is there "
        "(`/offline`): their conversations move to it, so replies go out by email.",
    )
    business_hours_id: RowId | None = Field(
        default=None,
        description="The business hours (/api/v1/routing/business-hours) that say when the "
        "chat is online; none: always online.",
    )
    expected_reply: Text = Field(default="We usually reply in a few minutes.", max_length=200)
    offline_reply: Text = Field(
        default="We're away right now: leave a message and we'll answer by email.",
        max_length=200,
    )
    csat: bool = Field(default=True, description="Ask for a rating when a chat is resolved.")

    @field_validator("widget_key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not WIDGET_KEY.fullmatch(value):
            raise ValueError("22 to 64 URL-safe characters")
        return value

    @field_validator("colour")
    @classmethod
    def _colour(cls, value: str) -> str:
        if not _COLOUR.fullmatch(value):
            raise ValueError("a colour like #2563eb")
        return value.lower()

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        cleaned = []
        for value in values:
            origin = origin_of(value)
            if origin is None or origin_of(origin) != value.strip().lower().rstrip("/"):
                raise ValueError(f"{value!r} is not an origin like https://www.example.com")
            cleaned.append(origin)
        return sorted(set(cleaned))


class WebchatSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identity_secret: str = Field(
        default_factory=new_identity_secret,
        min_length=16,
        max_length=200,
        description="Signs your site's user ids: user_hash = hex(HMAC-SHA256(secret, user "
        "id)). Generated when not given; shown once.",
    )


# Visitor protocol -------------------------------------------------------------------------


class UserIn(BaseModel):
    id: Text = Field(min_length=1, max_length=255, description="Your site's id for the user.")
    hash: Text = Field(
        min_length=1, max_length=128, description="hex(HMAC-SHA256(identity secret, id))."
    )
    name: Text | None = Field(default=None, max_length=200)
    email: Text | None = Field(default=None, max_length=320)


class SessionIn(BaseModel):
    visitor_token: Text | None = Field(default=None, max_length=500)
    user: UserIn | None = None


class VisitorOut(BaseModel):
    name: str | None
    email: str | None


class PreChatFieldOut(BaseModel):
    name: str
    label: str
    type: str
    required: bool
    options: list[str] | None = None


class PreChatFormOut(BaseModel):
    enabled: bool
    fields: list[PreChatFieldOut]


class AttachmentLimits(BaseModel):
    max_bytes: int
    types: list[str]


class WidgetSettings(BaseModel):
    title: str
    greeting: str
    colour: str
    pre_chat_form: PreChatFormOut
    online: bool
    next_open_at: datetime | None = None
    expected_reply: str
    attachments: AttachmentLimits
    csat: bool


class SenderOut(BaseModel):
    type: Literal["contact", "user", "system"]
    name: str | None = None


class VisitorAttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    url: str = Field(description="Where the widget downloads it (a signed link).")


class VisitorMessageOut(BaseModel):
    id: int
    client_id: str | None = None
    conversation_id: int
    direction: Literal["inbound", "outbound"]
    body: str = Field(description="Plain text: render it as text, never as HTML.")
    sender: SenderOut
    attachments: list[VisitorAttachmentOut] = []
    status: Literal["sent", "delivered", "read"]
    created_at: datetime


class VisitorConversationOut(BaseModel):
    id: int
    status: Literal["open", "pending", "snoozed", "resolved", "closed"]
    created_at: datetime
    resolved_at: datetime | None = None
    csat_rating: int | None = Field(default=None, description="Set once the visitor rated it.")


class SessionOut(BaseModel):
    visitor_token: str
    visitor: VisitorOut
    settings: WidgetSettings
    conversation: VisitorConversationOut | None = None


class HistoryOut(BaseModel):
    messages: list[VisitorMessageOut]
    conversation: VisitorConversationOut | None = None


class PreChatIn(BaseModel):
    name: Text | None = Field(default=None, max_length=200)
    email: Text | None = Field(default=None, max_length=320)
    fields: dict[str, Any] | None = Field(default=None, max_length=20)


class MessageIn(BaseModel):
    client_id: Text = Field(
        min_length=1, max_length=64, description="A UUID made by the widget (idempotency)."
    )
    body: Text = Field(min_length=1, max_length=65536)
    pre_chat: PreChatIn | None = None


class TypingIn(BaseModel):
    typing: bool


class ReadIn(BaseModel):
    message_id: RowId


class VisitorEventIn(BaseModel):
    kind: Literal["page_view", "rage_click"]
    url: Text = Field(min_length=1, max_length=2048)
    title: Text | None = Field(default=None, max_length=500)
    referrer: Text | None = Field(default=None, max_length=2048)
    x: float | None = Field(default=None, allow_inf_nan=False)
    y: float | None = Field(default=None, allow_inf_nan=False)
    selector: Text | None = Field(default=None, max_length=500)
    at: datetime


class EventsIn(BaseModel):
    events: list[VisitorEventIn] = Field(min_length=1, max_length=20)


class OfflineIn(BaseModel):
    name: Text | None = Field(default=None, max_length=200)
    email: Text = Field(min_length=3, max_length=320)
    body: Text = Field(min_length=1, max_length=65536)
    client_id: Text = Field(min_length=1, max_length=64)


class CsatIn(BaseModel):
    conversation_id: RowId
    rating: int = Field(ge=1, le=5)
    comment: Text | None = Field(default=None, max_length=2000)


class LeftIn(BaseModel):
    model_config = ConfigDict(extra="ignore")


# Agents' side ----------------------------------------------------------------------------


class EmbedOut(BaseModel):
    inbox_id: int
    widget_key: str
    widget_url: str
    snippet: str = Field(description="Paste it before `</body>` on every page of your site.")
    allowed_origins: list[str]


class AgentTypingIn(BaseModel):
    typing: bool


class AgentReadIn(BaseModel):
    message_id: RowId = Field(description="The customer's messages up to this one were read.")
