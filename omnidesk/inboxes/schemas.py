from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from omnidesk.kit.types import JsonObject, Text


class InboxCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=200)
    channel_type: Text = Field(min_length=1, max_length=32, examples=["api"])
    config: JsonObject = Field(
        default={}, description="The channel's settings, checked against its config schema."
    )
    secrets: JsonObject = Field(
        default={},
        description="Write-only credentials, stored encrypted and never returned. The API "
        "channel generates its signing secret when none is given.",
    )


class InboxUpdate(BaseModel):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    config: JsonObject | None = Field(
        default=None,
        description="Merged into the config: the keys given replace theirs, the others are kept.",
    )
    secrets: JsonObject | None = Field(
        default=None, description="Merged into the stored secrets: given keys are replaced."
    )


class InboxOut(BaseModel):
    id: int
    name: str
    channel_type: str
    config: dict[str, Any]
    secret_keys: list[str] = Field(description="Which secrets are set (never their values).")
    capabilities: dict[str, Any]
    webhook_url: str | None = Field(
        description="Where the provider or your system sends this inbox's inbound messages."
    )
    forwarding_address: str | None = Field(
        default=None,
        description="Email inboxes: forward the support address's mail here (the built-in "
        "SMTP listener).",
    )
    created_at: datetime
    updated_at: datetime


class InboxWithSecret(InboxOut):
    secret: str | None = Field(
        default=None,
        description="The signing secret, shown once: when it was generated or rotated.",
    )


class InboxCheckOut(BaseModel):
    name: str = Field(examples=["SMTP login"], description="What was checked.")
    ok: bool
    detail: str = Field(description="What the server answered, or why it failed.")


class InboxCheckReport(BaseModel):
    inbox_id: int
    ok: bool = Field(description="True when every check passed.")
    checks: list[InboxCheckOut]
