from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.kit.db import Base, BigId, IdMixin, JsonDoc

#: Who may see an event: everyone in the account, admins and supervisors only, or the
#: agents entitled to its conversation (the assignee, the team, or all while unassigned).
AUDIENCES = ("account", "supervisors", "conversation")


class Event(IdMixin, Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_account_id_id", "account_id", "id"),
        # Reports read one kind of event over a period (analytics/repository.py).
        Index("ix_events_account_id_type_created_at", "account_id", "type", "created_at"),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(16), default="account")
    conversation_id: Mapped[int | None] = mapped_column(BigId, index=True)
    contact_id: Mapped[int | None] = mapped_column(BigId, index=True)
    assignee_id: Mapped[int | None] = mapped_column(BigId)
    team_id: Mapped[int | None] = mapped_column(BigId)
    actor_user_id: Mapped[int | None] = mapped_column(BigId)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime]
