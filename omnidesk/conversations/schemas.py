from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from omnidesk.conversations.vocabulary import Priority, Status
from omnidesk.kit.types import JsonObject, RowId, Text
from omnidesk.sla.schemas import ConversationSla, SlaState

TagName = Annotated[Text, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\s,]+$")]


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    message_id: int | None
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: int
    inbox_id: RowId | None
    direction: Literal["inbound", "outbound"]
    kind: Literal["message", "note", "activity"]
    sender_type: Literal["contact", "user", "bot", "system"]
    sender_id: int | None
    body: str
    body_html: str | None
    channel_message_id: str | None
    delivery_status: str | None
    delivery_error: str | None
    delivery_reason: str | None = Field(
        None,
        description="Why a failed message was not delivered: invalid_recipient, blocked, "
        "outside_window (the channel's reply window closed), rate_limited, opted_out, "
        "auth_failed, rejected or provider_unavailable.",
    )
    meta: dict[str, Any]
    created_at: datetime
    attachments: list[AttachmentOut] = []


class ConversationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    inbox_id: RowId | None
    contact_id: RowId
    subject: str
    status: Status
    priority: Priority
    assignee_id: RowId | None
    team_id: RowId | None
    custom_fields: dict[str, Any]
    ticket_form_id: RowId | None = Field(
        default=None, description="The ticket form whose fields it shows (docs/ticket-forms.md)."
    )
    channel_thread_id: str | None
    snoozed_until: datetime | None
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    csat_rating: int | None = None
    csat_comment: str | None = None
    csat_at: datetime | None = None
    tags: list[str] = []
    sla: ConversationSla | None = Field(default=None, description="Its SLA targets (docs/sla.md).")


def _clean_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    return sorted({t.strip().lower() for t in tags})


class ConversationCreate(BaseModel):
    contact_id: RowId
    inbox_id: RowId | None = None
    subject: Text = Field(default="", max_length=500)
    priority: Priority = "normal"
    tags: list[TagName] = Field(default=[], max_length=50)
    custom_fields: JsonObject = Field(
        default={}, description="Keys must be conversation attribute definitions."
    )
    assignee_id: RowId | None = None
    team_id: RowId | None = None
    ticket_form_id: RowId | None = Field(
        default=None, description="A ticket form to apply; without it, the inbox's form."
    )

    _tags = field_validator("tags")(_clean_tags)


class ConversationUpdate(BaseModel):
    subject: Text | None = Field(default=None, max_length=500)
    status: Status | None = None
    priority: Priority | None = None
    snoozed_until: datetime | None = Field(
        default=None, description="Required when status is `snoozed`; must be in the future."
    )
    assignee_id: RowId | None = Field(default=None, description="null unassigns.")
    team_id: RowId | None = Field(default=None, description="null removes the team.")
    tags: list[TagName] | None = Field(default=None, max_length=50)
    custom_fields: JsonObject | None = Field(
        default=None,
        description="Merged into the current values, each checked against its conversation "
        "attribute definition (422 on `custom_fields.<key>`); a key set to null is removed.",
    )

    _tags = field_validator("tags")(_clean_tags)

    @field_validator("snoozed_until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a timezone (e.g. 2026-01-05T09:00:00Z)")
        return value


def _email_address(value: str) -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from exc


EmailAddress = Annotated[Text, StringConstraints(max_length=320), AfterValidator(_email_address)]
#: The most addresses an agent's email may go to (To and Cc each).
MAX_RECIPIENTS = 20
#: The largest HTML body an agent's email may have (characters, before sanitising).
MAX_HTML_CHARS = 262144


class MessageCreate(BaseModel):
    body: Text = Field(
        default="",
        max_length=65536,
        description="Plain text. With `html` it may be empty: the text is read from the HTML.",
    )
    private: bool = Field(default=False, description="An internal note, never sent.")
    attachment_ids: list[RowId] = Field(default=[], max_length=20)
    # Email replies only: the agent's own addressing and rich text --------------------
    to: list[EmailAddress] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_RECIPIENTS,
        description="Email only: who the reply goes to (default: the customer).",
    )
    cc: list[EmailAddress] | None = Field(
        default=None,
        max_length=MAX_RECIPIENTS,
        description="Email only: who is copied (default: the others on the customer's last "
        "mail); `[]` copies nobody.",
    )
    subject: Text | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Email only: the reply's subject as typed (default: `Re: <subject>`).",
    )
    html: Text | None = Field(
        default=None,
        max_length=MAX_HTML_CHARS,
        description="Email only: the reply as HTML, sanitised like inbound mail (no scripts, "
        "styles or event handlers) and sent as the HTML alternative of `body`.",
    )
    mentions: list[RowId] = Field(
        default=[],
        max_length=50,
        description="Internal notes only: users of the account this note mentions; each gets "
        "`note.mentioned` on `/ws`.",
    )

    @property
    def email_fields(self) -> list[str]:
        """The email-only fields this message sets."""
        return [name for name in ("to", "cc", "subject", "html") if getattr(self, name) is not None]


class ConversationFilters(BaseModel):
    status: list[Status] = []
    assignee: Literal["me", "none", "any"] | None = None
    assignee_id: RowId | None = None
    team_id: RowId | None = None
    team: Literal["mine"] | None = None
    inbox_id: RowId | None = None
    channel: list[str] = []
    contact_id: RowId | None = None
    priority: list[Priority] = []
    tag: Text | None = None
    q: Text | None = Field(default=None, max_length=200)
    sla_state: list[SlaState] = []
