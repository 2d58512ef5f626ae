"""Routing configuration: calendars, skills, routing profiles, queues, rules and presence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.kit.db import Base, BigId, IdMixin, JsonDoc

PRESENCES = ("available", "away", "busy", "wrap_up", "offline")
SELECTION_POLICIES = ("longest_idle", "least_occupied", "highest_skill")
OUT_OF_HOURS_ACTIONS = ("keep_waiting", "auto_reply", "voicemail", "close")
MIN_SKILL_LEVEL, MAX_SKILL_LEVEL = 1, 10


class BusinessHours(IdMixin, Base):
    """A calendar: weekly opening intervals in an IANA timezone, and holidays."""

    __tablename__ = "routing_business_hours"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    #: ``{"monday": [{"start": "09:00", "end": "17:00"}], …}`` (see ``routing.hours``).
    weekly: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    #: ``[{"start": "2026-12-25", "end": "2026-12-26", "name": …, "open": […]}, …]``.
    holidays: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Skill(IdMixin, Base):
    __tablename__ = "routing_skills"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]


class AgentSkill(Base):
    """An agent's level (1-10) in one skill."""

    __tablename__ = "routing_agent_skills"
    __table_args__ = (
        CheckConstraint(
            f"level >= {MIN_SKILL_LEVEL} AND level <= {MAX_SKILL_LEVEL}", name="level_range"
        ),
    )

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("routing_skills.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[int] = mapped_column(Integer)


class RoutingProfile(IdMixin, Base):
    """How much work of each channel an agent holds at once, and how offers reach them."""

    __tablename__ = "routing_profiles"
    __table_args__ = (
        UniqueConstraint("account_id", "name"),
        # At most one default profile per account.
        Index(
            "ix_routing_profiles_default",
            "account_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    #: ``{"voice": 1, "webchat": 3, "email": 5}``; a channel not named has no capacity.
    capacity: Mapped[dict[str, int]] = mapped_column(JsonDoc, default=dict)
    #: Holding one item of such a channel blocks every other channel.
    exclusive_channels: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    #: Offers are accepted at once (straight to the next contact).
    auto_accept: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AgentState(Base):
    """A user's routing state: presence, and the routing profile they work with."""

    __tablename__ = "routing_agents"

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    #: None: the account's default profile.
    profile_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("routing_profiles.id", ondelete="SET NULL"), index=True
    )
    presence: Mapped[str] = mapped_column(String(16), default="offline")
    reason: Mapped[str | None] = mapped_column(String(200))
    since: Mapped[datetime]
    #: The last sign of life of the agent's desktop: refreshed while a websocket of theirs is
    #: open, and when they set their presence. None until their first websocket: an agent
    #: never seen connected (an integration driving presence through the API) is not watched
    #: for a lost connection (``routing/liveness.py``).
    last_seen_at: Mapped[datetime | None]


class AwayReason(IdMixin, Base):
    """One of the account's reasons an agent may give for being away ("Lunch", "Training")."""

    __tablename__ = "routing_away_reasons"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class Queue(IdMixin, Base):
    __tablename__ = "routing_queues"
    __table_args__ = (
        UniqueConstraint("account_id", "name"),
        # At most one default queue per account.
        Index(
            "ix_routing_queues_default",
            "account_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    priority_bonus: Mapped[int] = mapped_column(Integer, default=0)
    #: None: always open.
    business_hours_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("routing_business_hours.id"), index=True
    )
    out_of_hours_action: Mapped[str] = mapped_column(String(16), default="keep_waiting")
    out_of_hours_message: Mapped[str] = mapped_column(Text, default="")
    #: ``[{"skill_id": 3, "min_level": 5}, …]``.
    required_skills: Mapped[list[dict[str, int]]] = mapped_column(JsonDoc, default=list)
    selection_policy: Mapped[str] = mapped_column(String(16), default="longest_idle")
    offer_timeout_s: Mapped[int] = mapped_column(Integer, default=30)
    wrap_up_s: Mapped[int] = mapped_column(Integer, default=0)
    #: Missed offers in a row before the agent is set away; 0: never.
    max_missed_offers: Mapped[int] = mapped_column(Integer, default=0)
    #: Prefer the agent who last served the contact within this many days (0: off)…
    sticky_days: Mapped[int] = mapped_column(Integer, default=0)
    #: …waiting up to this many seconds for them.
    sticky_window_s: Mapped[int] = mapped_column(Integer, default=0)
    #: ``[{"after_s", "relax_levels", "drop_skills", "add_queue_ids", "raise_priority_by"}]``.
    overflow_steps: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RoutingRule(IdMixin, Base):
    """Conditions on incoming work and where it goes; tried in ``position`` order."""

    __tablename__ = "routing_rules"
    __table_args__ = (Index("ix_routing_rules_account_id_position", "account_id", "position"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: ``{"inbox_ids", "channels", "languages", "tags_any", "contact_attributes", "vip"}``.
    conditions: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    #: None: the default queue.
    queue_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("routing_queues.id"), index=True)
    #: None: keep the conversation's priority.
    priority: Mapped[str | None] = mapped_column(String(16))
    extra_skills: Mapped[list[dict[str, int]]] = mapped_column(JsonDoc, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# The router's work: what waits for an agent, and the offers made to agents ----------------

#: ``waiting`` for an agent, ``offered`` to one, ``assigned`` to one; then it ended:
#: ``completed`` (served), ``abandoned`` (the customer left), ``cancelled`` (resolved or taken
#: by hand before an agent was found).
WORK_ITEM_STATUSES = ("waiting", "offered", "assigned", "completed", "abandoned", "cancelled")
ACTIVE_WORK = ("waiting", "offered", "assigned")
OFFER_STATUSES = ("pending", "accepted", "declined", "timed_out", "withdrawn")


class WorkItem(IdMixin, Base):
    """A conversation waiting for, offered to or held by an agent: the router's unit of work."""

    __tablename__ = "routing_work_items"
    __table_args__ = (
        # One active WorkItem per conversation: the router's sweep may find it twice.
        Index(
            "ix_routing_work_items_active_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status IN ('waiting', 'offered', 'assigned')"),
            postgresql_where=text("status IN ('waiting', 'offered', 'assigned')"),
        ),
        Index("ix_routing_work_items_account_id_status", "account_id", "status"),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int] = mapped_column(BigId)
    channel: Mapped[str] = mapped_column(String(32))
    queue_id: Mapped[int] = mapped_column(BigId, ForeignKey("routing_queues.id"), index=True)
    #: 0 low … 3 urgent, plus what the rule or overflow added.
    priority: Mapped[int] = mapped_column(Integer)
    #: ``[{"skill_id", "min_level"}]`` the routing rule added to the queue's.
    extra_skills: Mapped[list[dict[str, int]]] = mapped_column(JsonDoc, default=list)
    rule_id: Mapped[int | None] = mapped_column(BigId)
    sticky_agent_id: Mapped[int | None] = mapped_column(BigId)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    agent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)
    #: ``{"to_queue_id" | "to_agent_id", "note", "by"}``: asked through the API, done by the
    #: router (its single writer), which then clears it.
    pending_transfer: Mapped[dict[str, Any] | None] = mapped_column(
        # None is SQL NULL, not JSON null, so that "IS NOT NULL" finds the pending ones.
        JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
    )
    enqueued_at: Mapped[datetime]
    assigned_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class Offer(IdMixin, Base):
    """A timed reservation of a WorkItem for one agent: accepted, declined or timed out."""

    __tablename__ = "routing_offers"
    __table_args__ = (Index("ix_routing_offers_agent_id_status", "agent_id", "status"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    work_item_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("routing_work_items.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
