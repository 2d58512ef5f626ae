from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.kit.db import Base, BigId, IdMixin, JsonDoc


class TicketForm(IdMixin, Base):
    """A named form: the conversation fields an agent fills in for one kind of request, in
    order, each with its default and whether resolving waits for it; and optional defaults
    for the subject, priority and tags."""

    __tablename__ = "ticket_forms"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    #: ``[{"key": "order_number", "required": true, "default": null}, …]`` in display order;
    #: each key a conversation attribute definition's.
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    subject: Mapped[str | None] = mapped_column(String(500))
    priority: Mapped[str | None] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TicketFormInbox(Base):
    """The form a new conversation of an inbox gets (one per inbox)."""

    __tablename__ = "ticket_form_inboxes"

    inbox_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    form_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("ticket_forms.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
