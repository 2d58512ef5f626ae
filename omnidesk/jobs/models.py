from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.kit.db import Base, BigId, IdMixin, JsonDoc

#: pending → running → done | pending (retry) | dead; a timer may also be cancelled.
JOB_STATUSES = ("pending", "running", "done", "dead", "cancelled")


class Job(IdMixin, Base):
    """One unit of durable work: an outbox entry (due now) or a timer (due later).

    Written in the same transaction as the change that needs it, so it exists if and only
    if the change committed. ``idempotency_key`` is unique: enqueueing the same work twice
    keeps one row, and it is sent to providers so they can drop a repeated delivery.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_jobs_status_due_at", "status", "due_at"),
    )

    account_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
