from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.kit.db import Base, BigId, IdMixin

#: Who a canned response is shared with: the whole account, one team, or its owner alone.
Scope = Literal["account", "team", "personal"]
SCOPES: tuple[str, ...] = get_args(Scope)


class CannedResponse(IdMixin, Base):
    """A reply an agent inserts by typing ``/`` and its shortcut; its body may hold
    variables (``{{contact.first_name}}``) filled in for one conversation."""

    __tablename__ = "canned_responses"
    __table_args__ = (Index("ix_canned_responses_account_id_shortcut", "account_id", "shortcut"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(16))
    #: The team it is shared with (scope ``team``).
    team_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    #: The agent it belongs to (scope ``personal``).
    owner_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    shortcut: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
