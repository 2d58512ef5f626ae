from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from omnidesk.automation.models import Scope
from omnidesk.kit.types import RowId, Text

#: What an agent types after ``/``: letters, digits, ``_``, ``-`` and ``.``; stored lower-case.
SHORTCUT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
MAX_BODY_CHARS = 10_000


class CannedResponseCreate(BaseModel):
    scope: Scope = Field(
        default="personal",
        description="`account`: every agent of the account; `team`: the members of `team_id`; "
        "`personal`: you alone. Only admins create shared (`account`, `team`) ones.",
    )
    team_id: RowId | None = Field(default=None, description="The team (scope `team` only).")
    shortcut: Text = Field(
        min_length=1,
        max_length=64,
        pattern=SHORTCUT_PATTERN,
        description="What agents type after `/` (case-insensitive).",
        examples=["refund"],
    )
    title: Text = Field(min_length=1, max_length=200, examples=["Refund on its way"])
    body: Text = Field(
        min_length=1,
        max_length=MAX_BODY_CHARS,
        description="The text, with variables such as `{{contact.first_name}}` "
        "(docs/canned-responses.md).",
        examples=["Hi {{contact.first_name}}, your refund is on its way. {{agent.name}}"],
    )


class CannedResponseUpdate(BaseModel):
    shortcut: Text | None = Field(
        default=None, min_length=1, max_length=64, pattern=SHORTCUT_PATTERN
    )
    title: Text | None = Field(default=None, min_length=1, max_length=200)
    body: Text | None = Field(default=None, min_length=1, max_length=MAX_BODY_CHARS)


class CannedResponseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    scope: Scope
    team_id: int | None
    owner_id: int | None
    shortcut: str
    title: str
    body: str
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime


class RenderedOut(BaseModel):
    canned_response_id: int
    conversation_id: int
    text: str = Field(description="The body with every variable filled in.")
    missing: list[str] = Field(
        description="Variables that had no value for this conversation (each became empty)."
    )


class VariableOut(BaseModel):
    name: str = Field(examples=["contact.first_name"])
    description: str
