"""The email inbox's configuration and secrets.

An email inbox has one support address. Mail reaches it through the built-in SMTP listener
(the provider forwards to the inbox's forwarding address) or by IMAP polling (``imap_*``),
or both; replies leave through the SMTP server in ``smtp_*``. Passwords are secrets,
encrypted at rest and never returned.
"""

from __future__ import annotations

from typing import Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omnidesk.kit.types import Text

SmtpSecurity = Literal["none", "starttls", "tls"]
_HOST = r"^[A-Za-z0-9.:\[\]-]{1,253}$"
_SMTP_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "tls": 465}


def checked_address(value: str) -> str:
    """A deliverable-looking address, its domain lower-cased (no DNS lookup)."""
    try:
        found = validate_email(value, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    return f"{found.local_part}@{found.domain.lower()}"


def single_line(value: str | None) -> str | None:
    """Refuse control characters (a line break would inject a header or a command)."""
    if value is not None and any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must be one line without control characters")
    return value


class EmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(
        description="The support address customers write to; replies come from it.",
        examples=["support@example.com"],
        max_length=254,
    )
    display_name: Text = Field(
        default="", max_length=200, description="Shown as the sender of replies."
    )
    # --- sending (SMTP out) ----------------------------------------------------------
    smtp_host: str | None = Field(
        default=None, pattern=_HOST, description="The SMTP server replies go out through."
    )
    smtp_port: int | None = Field(
        default=None, ge=1, le=65535, description="Default: 587 (starttls), 465 (tls), 25."
    )
    smtp_security: SmtpSecurity = "starttls"
    smtp_username: str | None = Field(default=None, max_length=254)
    # --- receiving by IMAP (optional) ------------------------------------------------
    imap_host: str | None = Field(
        default=None, pattern=_HOST, description="Poll this IMAP server for new mail."
    )
    imap_port: int | None = Field(default=None, ge=1, le=65535, description="Default: 993, 143.")
    imap_tls: bool = Field(default=True, description="Implicit TLS (IMAPS).")
    imap_username: str | None = Field(default=None, max_length=254)
    imap_mailbox: str = Field(default="INBOX", min_length=1, max_length=255)
    imap_poll_interval_s: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="Seconds between two polls when the server cannot push (IDLE).",
    )

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return checked_address(value)

    @field_validator("display_name", "smtp_username", "imap_username")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return single_line(value)

    @field_validator("imap_mailbox")
    @classmethod
    def _mailbox(cls, value: str) -> str:
        if any(c in value for c in '"\\\r\n') or not value.isprintable():
            raise ValueError("a mailbox name may not hold quotes, backslashes or controls")
        return value

    @model_validator(mode="after")
    def _complete(self) -> EmailConfig:
        if self.imap_host and not self.imap_username:
            raise ValueError("imap_username is required with imap_host")
        return self

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]

    @property
    def local_part(self) -> str:
        return self.address.rsplit("@", 1)[0]

    @property
    def smtp_port_or_default(self) -> int:
        return self.smtp_port or _SMTP_PORTS[self.smtp_security]

    @property
    def imap_port_or_default(self) -> int:
        return self.imap_port or (993 if self.imap_tls else 143)


class EmailSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    smtp_password: str | None = Field(default=None, max_length=1024)
    imap_password: str | None = Field(default=None, max_length=1024)

    @field_validator("smtp_password", "imap_password")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return single_line(value)
