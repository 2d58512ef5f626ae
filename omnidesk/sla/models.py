from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidesk.kit.db import Base, BigId, IdMixin, JsonDoc

#: What an SLA target measures: the first agent reply, an agent reply to each customer
#: message after an agent's (next response), and the resolution.
Kind = Literal["first_response", "next_response", "resolution"]
KINDS: tuple[str, ...] = get_args(Kind)
#: A clock's state: running on time, running past its warning, past its due time (final),
#: met on time (final), or stopped while the conversation waits (pending, snoozed, resolved).
State = Literal["ok", "warning", "breached", "achieved", "paused"]
STATES: tuple[str, ...] = get_args(State)


class SlaPolicy(IdMixin, Base):
    """Targets per priority for the conversations its conditions match; the first active
    policy by ``position`` that matches a conversation applies to it."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    #: The business hours its targets count in; None: around the clock.
    business_hours_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("routing_business_hours.id", ondelete="RESTRICT"), index=True
    )
    #: ``{"priorities": [...], "inbox_ids": [...], "channel_types": [...],
    #: "contact_attributes": {name: value}}``; an empty or missing condition matches all.
    conditions: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    #: ``{"urgent": {"first_response_s": 900, "next_response_s": null, "resolution_s": …}}``.
    targets: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    #: Warn once this share of a target's business time has passed…
    warning_percent: Mapped[int | None] = mapped_column(Integer)
    #: …or this many business seconds before it is due (at most one of the two).
    warning_before_s: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SlaClock(IdMixin, Base):
    """One target of one conversation: its business-time budget and how much is used.

    Running: ``running_since`` is set and ``due_at`` / ``warn_at`` are the instants (in
    business time, computed when the clock last started) when the budget runs out / reaches
    its warning. Stopped (paused, achieved): ``running_since`` is None and ``elapsed_s``
    holds all the business time used. ``warned_at`` / ``breached_at`` / ``achieved_at`` are
    set once each, by the durable timer (``sla.check``) or the change that met the target.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        Index("ix_sla_clocks_account_id_state", "account_id", "state"),
        Index("ix_sla_clocks_policy_id_started_at", "policy_id", "started_at"),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    policy_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="ok")
    #: The budget, in business seconds.
    target_s: Mapped[int] = mapped_column(Integer)
    #: Business seconds used at which to warn (None: no warning).
    warn_after_s: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime]
    running_since: Mapped[datetime | None]
    #: Business seconds used before ``running_since`` (all of them once stopped).
    elapsed_s: Mapped[float] = mapped_column(Float, default=0.0)
    due_at: Mapped[datetime | None]
    warn_at: Mapped[datetime | None]
    warned_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    achieved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
