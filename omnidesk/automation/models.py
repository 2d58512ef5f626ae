from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.kit.db import Base, BigId, IdMixin, JsonDoc

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


class Rule(IdMixin, Base):
    """An event rule: when one of ``triggers`` happens to a conversation and ``conditions``
    match, run ``actions`` in order (docs/automation.md)."""

    __tablename__ = "automation_rules"
    __table_args__ = (Index("ix_automation_rules_account_id_position", "account_id", "position"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    #: Rules of an account run in this order (0 first).
    position: Mapped[int] = mapped_column(default=0)
    #: Event types (``message.received``…) the rule reacts to.
    triggers: Mapped[list[str]] = mapped_column(JsonDoc)
    conditions: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)
    #: Runs at most once on each conversation.
    once_per_conversation: Mapped[bool] = mapped_column(default=False)
    #: Later rules are not tried on an event this rule acted on.
    stop_processing: Mapped[bool] = mapped_column(default=False)
    #: A time-based rule: ``{"amount": 48, "unit": "hours", "business_hours_id": 3}``, how
    #: long its conditions must hold before it acts (``automation.waits``); None acts at once.
    wait: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, nullable=True, default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RuleRun(IdMixin, Base):
    """One rule acting (or being stopped) on one event: idempotency, "once per
    conversation", and the audit admins read."""

    __tablename__ = "automation_rule_runs"
    __table_args__ = (
        UniqueConstraint("rule_id", "event_id"),
        Index("ix_automation_rule_runs_rule_id_conversation_id", "rule_id", "conversation_id"),
        Index("ix_automation_rule_runs_account_id_id", "account_id", "id"),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    rule_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("automation_rules.id", ondelete="CASCADE")
    )
    conversation_id: Mapped[int | None] = mapped_column(BigId)
    event_id: Mapped[int] = mapped_column(BigId)
    #: ``done``, ``failed`` (nothing applied) or ``loop_stopped``.
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime]


class Macro(IdMixin, Base):
    """Ordered actions an agent applies to a conversation in one click."""

    __tablename__ = "automation_macros"
    __table_args__ = (Index("ix_automation_macros_account_id_name", "account_id", "name"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    #: ``account``, ``team`` or ``personal``, like canned responses.
    scope: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
