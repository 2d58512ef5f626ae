from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.kit.db import Base, BigId, IdMixin, JsonDoc


class Inbox(IdMixin, Base):
    __tablename__ = "inboxes"

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    #: The channel adapter's registered name (``api``, ``email``, ``webchat``…).
    channel_type: Mapped[str] = mapped_column(String(32))
    #: Non-secret configuration, validated by the adapter's settings schema.
    config: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    #: Provider credentials and signing secrets, encrypted with the SecretBox.
    secrets_encrypted: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
