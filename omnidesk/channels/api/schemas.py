"""The API channel's shapes: its inbox configuration and secrets, and the inbound payload."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationInfo,
    field_validator,
    model_validator,
)

from omnidesk.channels import ssrf
from omnidesk.kit.security import new_token
from omnidesk.kit.types import Text

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def new_signing_secret() -> str:
    return new_token(SECRET_PREFIX, 32)


class ApiConfig(BaseModel):
    """Validated with ``context={"allow_private_addresses": bool}`` (False when absent)."""

    model_config = ConfigDict(extra="forbid")

    webhook_url: HttpUrl | None = Field(
        default=None,
        description="Where agents' replies are POSTed, signed with the inbox secret. "
        "Without it, replies stay queued until one is set.",
    )

    @field_validator("webhook_url")
    @classmethod
    def _public(cls, value: HttpUrl | None, info: ValidationInfo) -> HttpUrl | None:
        if value is None:
            return None
        context: dict[str, Any] = info.context or {}
        try:
            ssrf.check_static(
                str(value), allow_private=bool(context.get("allow_private_addresses"))
            )
        except ssrf.UnsafeTarget as exc:
            raise ValueError(str(exc)) from None
        return value


class ApiSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str = Field(
        default_factory=new_signing_secret,
        min_length=16,
        max_length=200,
        description="HMAC-SHA256 key for X-Omnidesk-Signature; generated when not given.",
    )


class ApiSender(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: Text | None = Field(
        default=None, min_length=1, max_length=255, description="Your id for this customer."
    )
    email: Text | None = Field(default=None, min_length=3, max_length=320)
    phone: Text | None = Field(
        default=None, min_length=3, max_length=32, description="Best in E.164 (+14155550100)."
    )
    name: Text = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _one_handle(self) -> ApiSender:
        if not (self.external_id or self.email or self.phone):
            raise ValueError("give at least one of external_id, email or phone")
        return self

    def handles(self) -> list[tuple[str, str, str]]:
        """(identity kind, payload field, value) for each handle given, best first."""
        given = [
            ("external", "external_id", self.external_id),
            ("email", "email", self.email),
            ("phone", "phone", self.phone),
        ]
        return [(kind, name, value) for kind, name, value in given if value]


class ApiInboundIn(BaseModel):
    """A customer's message posted by your system."""

    model_config = ConfigDict(extra="forbid")

    external_id: Text = Field(
        min_length=1,
        max_length=255,
        description="Your id for this message: posting the same id again is a no-op.",
    )
    sender: ApiSender
    body: Text = Field(min_length=1, max_length=65536)
    thread_id: Text | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Your thread id: messages with the same one join one conversation.",
    )
    subject: Text | None = Field(default=None, max_length=500)


class ApiContactLeftIn(BaseModel):
    """Your customer left before an agent answered: found like their messages."""

    model_config = ConfigDict(extra="forbid")

    sender: ApiSender = Field(
        description="The customer, by the same handles as their messages (the first one given "
        "of external_id, email, phone finds them)."
    )
    thread_id: Text | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Your thread id; without it, the customer's latest conversation in this "
        "inbox that is not closed.",
    )
    reason: Text | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Why, in your words (`closed_chat`, `hung_up`…): kept for the reports.",
    )


class ApiContactLeftOut(BaseModel):
    conversation_id: int
    conversation_status: str = Field(
        description="`pending` when the conversation was waiting for an agent (a message from "
        "the customer reopens it); unchanged when an agent holds it."
    )
    left_at: datetime = Field(description="When the customer left (the first report).")
    already_reported: bool = Field(
        description="True: reported before (since the customer's last message); nothing changed."
    )
