"""The words of a conversation's state, for every context that speaks of them. Pure: no I/O,
no framework, so the routing engine, SLA policies and automation conditions share them."""

from __future__ import annotations

from typing import Literal, get_args

Status = Literal["open", "pending", "snoozed", "resolved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]

STATUSES: tuple[Status, ...] = get_args(Status)
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
