from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from omnidesk.conversations.schemas import TagName
from omnidesk.kit.types import Text

Scalar = str | bool | int | float | None
Keyword = Annotated[Text, Field(min_length=1, max_length=100)]


class CategoryRuleCreate(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)

    name: Text = Field(min_length=1, max_length=200, examples=["Refunds"])
    keywords: list[Keyword] = Field(
        default=[],
        max_length=200,
        description="Words or phrases found as whole words, any case.",
        examples=[["refund", "money back"]],
    )
    pattern: Text | None = Field(
        default=None,
        max_length=500,
        description="A regular expression (Python syntax, `(?i)` for any case) instead of "
        "keywords; one that may backtrack catastrophically is refused (422 on `pattern`).",
    )
    tag: TagName | None = Field(default=None, description="The tag to add.")
    field_key: Text | None = Field(
        default=None, max_length=64, description="A conversation field to set when blank."
    )
    field_value: Scalar = Field(default=None, description="Its value, of the field's type.")
    confidence: float = Field(default=1.0, ge=0, le=1)
    position: int = Field(default=0, ge=0, le=1_000_000, description="Lower runs first.")
    active: bool = True


class CategoryRuleUpdate(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    keywords: list[Keyword] | None = Field(default=None, max_length=200)
    pattern: Text | None = Field(default=None, max_length=500)
    tag: TagName | None = None
    field_key: Text | None = Field(default=None, max_length=64)
    field_value: Scalar = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    position: int | None = Field(default=None, ge=0, le=1_000_000)
    active: bool | None = None


class CategoryRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    keywords: list[str]
    pattern: str | None
    tag: str | None
    field_key: str | None
    field_value: Any
    confidence: float
    position: int
    active: bool
    created_at: datetime
    updated_at: datetime
