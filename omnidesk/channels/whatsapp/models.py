"""The message templates of a WhatsApp inbox's business account, as last synced from Meta."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.kit.db import Base, BigId, IdMixin, JsonDoc


class MessageTemplate(IdMixin, Base):
    """One template in one language. Only ``APPROVED`` ones can be sent; the others are
    kept so the admin sees what is pending or rejected."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("inbox_id", "name", "language"),)

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(512))
    language: Mapped[str] = mapped_column(String(16))
    #: Meta's review state: APPROVED, PENDING, REJECTED, PAUSED, DISABLED…
    status: Mapped[str] = mapped_column(String(32))
    #: MARKETING, UTILITY or AUTHENTICATION: Meta prices them differently.
    category: Mapped[str] = mapped_column(String(32))
    #: Meta's components (HEADER, BODY, FOOTER, BUTTONS) as returned.
    components: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    provider_id: Mapped[str] = mapped_column(String(64), default="")
    synced_at: Mapped[datetime]
