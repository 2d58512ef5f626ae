from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from omnidesk.conversations.schemas import TagName
from omnidesk.conversations.vocabulary import Priority
from omnidesk.kit.types import RowId, Text

FieldKey = str
Scalar = str | bool | int | float | None


class FormFieldIn(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)

    key: FieldKey = Field(
        pattern=r"^[a-z][a-z0-9_]{0,63}$", description="A conversation attribute's key."
    )
    required: bool = Field(
        default=False, description="Agents must fill it in before resolving (with this form)."
    )
    default: Scalar = Field(
        default=None, description="Set when the form is applied, unless a value is there."
    )


class FormFieldOut(BaseModel):
    key: str
    required: bool
    default: Any


class TicketFormCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=200, examples=["Return request"])
    description: Text = Field(default="", max_length=1000)
    fields: list[FormFieldIn] = Field(
        default=[], max_length=100, description="The conversation fields, in display order."
    )
    subject: Text | None = Field(
        default=None, max_length=500, description="Set when the conversation has none."
    )
    priority: Priority | None = Field(
        default=None, description="Replaces the starting priority (`normal`) only."
    )
    tags: list[TagName] = Field(default=[], max_length=50, description="Added when applied.")
    inbox_ids: list[RowId] = Field(
        default=[],
        max_length=500,
        description="Inboxes whose new conversations get this form (one form per inbox).",
    )


class TicketFormUpdate(BaseModel):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=1000)
    fields: list[FormFieldIn] | None = Field(default=None, max_length=100)
    subject: Text | None = Field(default=None, max_length=500, description="null: none.")
    priority: Priority | None = Field(default=None, description="null: none.")
    tags: list[TagName] | None = Field(default=None, max_length=50)
    inbox_ids: list[RowId] | None = Field(default=None, max_length=500)


class TicketFormOut(BaseModel):
    id: int
    name: str
    description: str
    fields: list[FormFieldOut]
    subject: str | None
    priority: Priority | None
    tags: list[str]
    inbox_ids: list[int]
    created_at: datetime
    updated_at: datetime


class ApplyFormIn(BaseModel):
    form_id: RowId = Field(description="The ticket form to apply to the conversation.")
