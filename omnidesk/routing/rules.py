"""Routing rules: which queue, at which priority, with which extra skills. Pure.

Rules are tried in order; the first enabled rule whose conditions all match decides. A rule
without conditions matches everything. When none matches, the work goes to the account's
default queue at the priority it already has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The contact attribute that marks a VIP (``true``, ``"true"``, ``"yes"`` or ``1``).
VIP_ATTRIBUTE = "vip"
_TRUTHY = frozenset({"true", "yes", "1"})


@dataclass(frozen=True)
class SkillRequirement:
    skill_id: int
    min_level: int = 1


@dataclass(frozen=True)
class Conditions:
    """All given conditions must match; an empty one (no ids, no channels…) is not checked."""

    inbox_ids: frozenset[int] = frozenset()
    channels: frozenset[str] = frozenset()
    #: Language tags (``fr`` matches ``fr`` and ``fr-CA``), compared without case.
    languages: frozenset[str] = frozenset()
    #: Any one of these tags.
    tags_any: frozenset[str] = frozenset()
    #: Contact attribute equals value, for every pair.
    contact_attributes: Mapping[str, Any] = field(default_factory=dict)
    #: True: only VIP contacts; False: only others; None: either.
    vip: bool | None = None


@dataclass(frozen=True)
class Rule:
    id: int
    conditions: Conditions = Conditions()
    #: None: the account's default queue.
    queue_id: int | None = None
    #: None: keep the work's own priority.
    priority: str | None = None
    extra_skills: tuple[SkillRequirement, ...] = ()
    enabled: bool = True


@dataclass(frozen=True)
class Facts:
    """What is known about the work being routed."""

    inbox_id: int | None = None
    channel: str | None = None
    language: str | None = None
    tags: frozenset[str] = frozenset()
    contact_attributes: Mapping[str, Any] = field(default_factory=dict)
    #: The conversation's current priority.
    priority: str = "normal"


@dataclass(frozen=True)
class RoutingTarget:
    queue_id: int
    priority: str
    extra_skills: tuple[SkillRequirement, ...]
    #: The rule that decided; None when no rule matched (the default queue).
    rule_id: int | None


def is_vip(attributes: Mapping[str, Any]) -> bool:
    value = attributes.get(VIP_ATTRIBUTE)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in _TRUTHY


def _language_matches(wanted: frozenset[str], language: str | None) -> bool:
    if language is None:
        return False
    have = language.strip().lower().replace("_", "-")
    return any(have == w.lower() or have.startswith(w.lower() + "-") for w in wanted)


def matches(conditions: Conditions, facts: Facts) -> bool:
    if conditions.inbox_ids and facts.inbox_id not in conditions.inbox_ids:
        return False
    if conditions.channels and facts.channel not in conditions.channels:
        return False
    if conditions.languages and not _language_matches(conditions.languages, facts.language):
        return False
    if conditions.tags_any:
        tags = {t.lower() for t in facts.tags}
        if not any(t.lower() in tags for t in conditions.tags_any):
            return False
    for key, value in conditions.contact_attributes.items():
        if key not in facts.contact_attributes or facts.contact_attributes[key] != value:
            return False
    return conditions.vip is None or is_vip(facts.contact_attributes) == conditions.vip


def route(rules: Sequence[Rule], facts: Facts, *, default_queue_id: int) -> RoutingTarget:
    """The first enabled matching rule's target, else the default queue."""
    for rule in rules:
        if rule.enabled and matches(rule.conditions, facts):
            return RoutingTarget(
                queue_id=rule.queue_id if rule.queue_id is not None else default_queue_id,
                priority=rule.priority or facts.priority,
                extra_skills=rule.extra_skills,
                rule_id=rule.id,
            )
    return RoutingTarget(
        queue_id=default_queue_id, priority=facts.priority, extra_skills=(), rule_id=None
    )
