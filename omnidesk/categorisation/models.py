from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.kit.db import Base, BigId, IdMixin, JsonDoc


class CategoryRule(IdMixin, Base):
    """Keywords or a regular expression that, found in a customer's message (or the
    conversation's subject), tag the conversation and/or set one of its fields."""

    __tablename__ = "category_rules"
    __table_args__ = (Index("ix_category_rules_account_id_position", "account_id", "position"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    keywords: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    pattern: Mapped[str | None] = mapped_column(String(500))
    tag: Mapped[str | None] = mapped_column(String(64))
    field_key: Mapped[str | None] = mapped_column(String(64))
    field_value: Mapped[Any] = mapped_column(JsonDoc, nullable=True)
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
