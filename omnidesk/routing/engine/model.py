"""The router's value types: configuration in, decisions out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

Presence: TypeAlias = Literal["available", "away", "busy", "wrap_up", "offline"]
Policy: TypeAlias = Literal["longest_idle", "least_occupied", "highest_skill"]

PRESENCES: Final = frozenset({"available", "away", "busy", "wrap_up", "offline"})
POLICIES: Final = frozenset({"longest_idle", "least_occupied", "highest_skill"})
MAX_LEVEL: Final = 10


class RoutingError(ValueError):
    """A command that does not fit the router's state; the state is left unchanged."""


def _check_levels(levels: Mapping[int, int], what: str) -> None:
    for skill, level in levels.items():
        if not 1 <= level <= MAX_LEVEL:
            raise RoutingError(f"{what}: skill {skill} has level {level}, not 1..{MAX_LEVEL}")


@dataclass(frozen=True, slots=True)
class AgentConfig:
    agent_id: int
    skills: Mapping[int, int] = field(default_factory=dict)
    capacity: Mapping[str, int] = field(default_factory=dict)
    exclusive_channels: frozenset[str] = frozenset()
    auto_accept: bool = False

    def __post_init__(self) -> None:
        _check_levels(self.skills, f"agent {self.agent_id}")
        if any(n < 0 for n in self.capacity.values()):
            raise RoutingError(f"agent {self.agent_id}: negative capacity")


@dataclass(frozen=True, slots=True)
class OverflowStep:
    """What changes for an item once it has waited ``after_s`` in its queue."""

    after_s: float
    relax_levels: int = 0
    drop_skills: bool = False
    add_queue_ids: tuple[int, ...] = ()
    raise_priority_by: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.after_s) and self.after_s >= 0) or self.relax_levels < 0:
            raise RoutingError("an overflow step needs after_s >= 0 and relax_levels >= 0")


@dataclass(frozen=True, slots=True)
class QueueConfig:
    queue_id: int
    priority_bonus: int = 0
    required_skills: Mapping[int, int] = field(default_factory=dict)
    policy: Policy = "longest_idle"
    offer_timeout_s: float = 30.0
    wrap_up_s: float = 0.0
    max_missed_offers: int = 0
    sticky_window_s: float = 0.0
    overflow: tuple[OverflowStep, ...] = ()

    def __post_init__(self) -> None:
        _check_levels(self.required_skills, f"queue {self.queue_id}")
        if self.policy not in POLICIES:
            raise RoutingError(f"queue {self.queue_id}: unknown policy {self.policy!r}")
        if self.offer_timeout_s <= 0 or self.wrap_up_s < 0 or self.sticky_window_s < 0:
            raise RoutingError(f"queue {self.queue_id}: negative or zero duration")
        if self.max_missed_offers < 0:
            raise RoutingError(f"queue {self.queue_id}: max_missed_offers < 0")
        afters = [step.after_s for step in self.overflow]
        if afters != sorted(afters):
            # Steps apply one after the other: a later step that is due earlier would wait.
            raise RoutingError(f"queue {self.queue_id}: overflow steps must be in after_s order")


@dataclass(frozen=True, slots=True)
class WorkItem:
    item_id: int
    conversation_id: int
    contact_id: int
    channel: str
    queue_id: int
    priority: int
    enqueued_at: float
    extra_skills: Mapping[int, int] = field(default_factory=dict)
    sticky_agent_id: int | None = None

    def __post_init__(self) -> None:
        _check_levels(self.extra_skills, f"work item {self.item_id}")
        if not self.channel:
            raise RoutingError(f"work item {self.item_id}: no channel")


# Decisions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfferMade:
    offer_id: int
    item_id: int
    agent_id: int
    expires_at: float


@dataclass(frozen=True, slots=True)
class OfferWithdrawn:
    offer_id: int
    item_id: int
    agent_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class OfferDeclined:
    offer_id: int
    item_id: int
    agent_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class OfferTimedOut:
    offer_id: int
    item_id: int
    agent_id: int


@dataclass(frozen=True, slots=True)
class Assigned:
    item_id: int
    agent_id: int
    auto_accepted: bool
    offer_id: int | None = None


@dataclass(frozen=True, slots=True)
class Requeued:
    item_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class Overflowed:
    item_id: int
    step_index: int


@dataclass(frozen=True, slots=True)
class Abandoned:
    item_id: int
    waited_s: float


@dataclass(frozen=True, slots=True)
class Completed:
    item_id: int
    agent_id: int


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    agent_id: int
    presence: Presence
    reason: str | None


@dataclass(frozen=True, slots=True)
class WrapUpEnded:
    agent_id: int


@dataclass(frozen=True, slots=True)
class Transferred:
    item_id: int
    to_queue_id: int | None
    to_agent_id: int | None
    transfer_count: int
    note: str | None = None


Decision: TypeAlias = (
    OfferMade
    | OfferWithdrawn
    | OfferDeclined
    | OfferTimedOut
    | Assigned
    | Requeued
    | Overflowed
    | Abandoned
    | Completed
    | PresenceChanged
    | WrapUpEnded
    | Transferred
)
