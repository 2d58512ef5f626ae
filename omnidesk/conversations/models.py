from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.kit.db import Base, BigId, IdMixin, JsonDoc

DIRECTIONS = ("inbound", "outbound")
MESSAGE_KINDS = ("message", "note", "activity")
SENDER_TYPES = ("contact", "user", "bot", "system")
#: received (inbound); queued → sent → delivered → read, or failed (outbound).
DELIVERY_STATUSES = ("received", "queued", "sent", "delivered", "read", "failed")


class Conversation(IdMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_account_id_last_activity_at", "account_id", "last_activity_at"),
        Index("ix_conversations_account_id_status", "account_id", "status"),
        Index("ix_conversations_inbox_id_channel_thread_id", "inbox_id", "channel_thread_id"),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    #: The inbox replies go out through by default; a conversation may span channels.
    inbox_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("inboxes.id", ondelete="SET NULL")
    )
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    assignee_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    #: The ticket form whose fields the agent fills in (the inbox's, or one the agent chose).
    ticket_form_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("ticket_forms.id", ondelete="SET NULL")
    )
    #: The channel's own thread handle (an API caller's thread id, a chat session…).
    channel_thread_id: Mapped[str | None] = mapped_column(String(255))
    snoozed_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    #: The customer's satisfaction rating (1 to 5), given once, and its comment.
    csat_rating: Mapped[int | None] = mapped_column(Integer)
    csat_comment: Mapped[str | None] = mapped_column(Text)
    csat_at: Mapped[datetime | None]


class ConversationTag(Base):
    __tablename__ = "conversation_tags"
    __table_args__ = (Index("ix_conversation_tags_tag", "tag"),)

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)


class Message(IdMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        # Deduplication of inbound deliveries: a provider's id is stored once per inbox.
        UniqueConstraint("inbox_id", "channel_message_id"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
    )

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    inbox_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("inboxes.id", ondelete="SET NULL")
    )
    direction: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default="message")
    sender_type: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[int | None] = mapped_column(BigId)
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    channel_message_id: Mapped[str | None] = mapped_column(String(255))
    #: None for notes and activities, which are never delivered.
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    delivery_error: Mapped[str | None] = mapped_column(Text)
    #: Why it failed, from ``channels.base.FailureReason``: what the agent is told.
    delivery_reason: Mapped[str | None] = mapped_column(String(32))
    meta: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime]


class Attachment(IdMixin, Base):
    __tablename__ = "attachments"

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    #: Null between upload and the message that uses it.
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(BigId)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255))
    #: For inline images in email (``cid:``).
    content_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]


# Full-text search is dialect-specific, so it lives in migration 0002 rather than in the
# metadata: an FTS5 index kept by triggers on SQLite, a GIN expression index on PostgreSQL.
# The migration check ignores these objects.
SEARCH_OBJECTS = ("messages_fts", "ix_messages_body_tsv")
