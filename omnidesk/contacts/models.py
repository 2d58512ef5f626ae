from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.kit.db import Base, BigId, IdMixin, JsonDoc

#: One handle on one channel. ``email`` is lower-cased, ``phone`` is E.164; the others are
#: the provider's own ids (a WhatsApp wa_id is E.164 digits, a Telegram chat id, a page-
#: scoped Messenger id…). ``external`` is the API channel's caller-chosen id.
IdentityKind = Literal[
    "email",
    "phone",
    "whatsapp",
    "messenger",
    "instagram",
    "telegram",
    "webchat",
    "twitter",
    "external",
]
IDENTITY_KINDS: tuple[str, ...] = get_args(IdentityKind)

AttributeType = Literal["text", "number", "date", "boolean", "list", "url"]
ATTRIBUTE_TYPES: tuple[str, ...] = get_args(AttributeType)


class Company(IdMixin, Base):
    __tablename__ = "companies"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(255))
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime]


class Contact(IdMixin, Base):
    __tablename__ = "contacts"
    __table_args__ = (Index("ix_contacts_account_id_id", "account_id", "id"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="")
    company_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    #: Set when this contact was merged into another; merged contacts are hidden.
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Identity(IdMixin, Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("account_id", "kind", "value"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The customer's last word on messages to this handle (SMS STOP / START): ``opt_out``
    #: or ``opt_in``; None when they never said. Channels refuse to send to ``opt_out``.
    consent: Mapped[str | None] = mapped_column(String(16))
    consent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class AttributeDefinition(IdMixin, Base):
    """A typed custom attribute that contacts (or conversations) may carry."""

    __tablename__ = "attribute_definitions"
    __table_args__ = (UniqueConstraint("account_id", "applies_to", "key"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    applies_to: Mapped[str] = mapped_column(String(16), default="contact")
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    options: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    #: A conversation field that an agent must fill in before resolving (docs/ticket-forms.md).
    required_on_resolve: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class ContactMerge(IdMixin, Base):
    """What a merge moved, so that an admin can undo it."""

    __tablename__ = "contact_merges"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    survivor_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    merged_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    moved: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    actor_user_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime]
    undone_at: Mapped[datetime | None]
