"""The router's mutable records and the rules both engines share (eligibility, policy, ranks).

The indexed engine and the naive one must agree decision for decision, so everything that
decides *who* and *in which order* lives here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, TypeAlias

from omnidesk.routing.engine.model import AgentConfig, Policy, Presence, WorkItem

if TYPE_CHECKING:
    from omnidesk.routing.engine.indexes import Group

#: (queue_id, channel, ((skill, min level), ...) sorted, sticky agent or None)
GroupKey: TypeAlias = tuple[int, str, tuple[tuple[int, int], ...], int | None]
#: (-effective priority, enqueued_at, seeded tie-break, item_id): smaller is served first.
Rank: TypeAlias = tuple[int, float, int, int]

WAITING: Final = 0
OFFERED: Final = 1
ASSIGNED: Final = 2
GONE: Final = 3

# Timer kinds, in the order tick() handles events due at the same time.
WRAP_UP_END: Final = 0
OFFER_TIMEOUT: Final = 1
STICKY_END: Final = 2
OVERFLOW_STEP: Final = 3

_MASK: Final = (1 << 64) - 1
AGENT_SALT: Final = 0xA6E7
ITEM_SALT: Final = 0x17E3


def tie_break(seed: int, salt: int, ident: int) -> int:
    """splitmix64 of (seed, salt, id): stable across runs and processes, unlike hash(str)."""
    z = (seed * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9 + ident) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


class AgentState:
    __slots__ = (
        "agent_id",
        "assigned",
        "before_wrap_up",
        "config",
        "exclusive_held",
        "groups",
        "held",
        "idle_since",
        "missed",
        "offers",
        "presence",
        "stamp",
        "tb",
        "total_capacity",
        "total_held",
        "wrap_up_until",
    )

    def __init__(self, config: AgentConfig, seed: int) -> None:
        self.agent_id = config.agent_id
        self.config = config
        self.total_capacity = sum(config.capacity.values())
        self.presence: Presence = "offline"
        self.before_wrap_up: Presence = "offline"
        self.wrap_up_until: float | None = None
        self.idle_since = 0.0
        self.missed = 0
        self.held: dict[str, int] = {}
        self.total_held = 0
        self.exclusive_held = 0
        self.offers: dict[int, None] = {}
        self.assigned: dict[int, None] = {}
        self.tb = tie_break(seed, AGENT_SALT, config.agent_id)
        # Bookkeeping of the indexed engine: a heap entry is live while its stamp matches.
        self.stamp = 0
        self.groups: dict[str, dict[GroupKey, Group]] = {}


class ItemState:
    __slots__ = (
        "added_queues",
        "agent_id",
        "alts",
        "channel",
        "drop_skills",
        "enqueued_at",
        "extra_skills",
        "groups",
        "item_id",
        "offer_id",
        "pinned",
        "priority",
        "queue_id",
        "queued_since",
        "raise_by",
        "rank",
        "relax",
        "state",
        "steps_applied",
        "sticky_agent_id",
        "sticky_until",
        "tb",
        "transfer_count",
        "version",
        "work",
    )

    def __init__(self, work: WorkItem, seed: int) -> None:
        self.work = work
        self.item_id = work.item_id
        self.channel = work.channel
        self.queue_id = work.queue_id
        self.priority = work.priority
        self.enqueued_at = work.enqueued_at
        self.extra_skills = dict(work.extra_skills)
        self.queued_since = work.enqueued_at
        self.state = WAITING
        self.agent_id: int | None = None
        self.offer_id: int | None = None
        self.sticky_agent_id: int | None = None
        self.sticky_until: float | None = None
        self.pinned = False
        self.steps_applied = 0
        self.relax = 0
        self.drop_skills = False
        self.added_queues: list[int] = []
        self.raise_by = 0
        self.transfer_count = 0
        self.tb = tie_break(seed, ITEM_SALT, work.item_id)
        self.version = 0
        self.alts: tuple[GroupKey, ...] = ()
        self.rank: Rank = (0, 0.0, 0, 0)
        self.groups: list[Group] = []


def is_free(agent: AgentState, channel: str) -> bool:
    """Can take one more item of ``channel`` now (presence, capacity, exclusive channels)."""
    if agent.presence != "available" or agent.exclusive_held:
        return False
    if agent.held.get(channel, 0) >= agent.config.capacity.get(channel, 0):
        return False
    return not (agent.total_held and channel in agent.config.exclusive_channels)


def statically_eligible(agent: AgentState, key: GroupKey) -> bool:
    """Skills, sticky agent and a capacity for the channel: what does not change per offer."""
    _queue_id, channel, required, sticky = key
    if sticky is not None and agent.agent_id != sticky:
        return False
    config = agent.config
    if config.capacity.get(channel, 0) <= 0:
        return False
    skills = config.skills
    return all(skills.get(skill, 0) >= level for skill, level in required)


def policy_value(policy: Policy, agent: AgentState, key: GroupKey) -> float:
    """The agent's place in a queue's policy: smaller is chosen first."""
    if policy == "longest_idle":
        return agent.idle_since
    if policy == "least_occupied":
        return agent.total_held / agent.total_capacity if agent.total_capacity else 0.0
    skills = agent.config.skills
    return -float(sum(skills.get(skill, 0) for skill, _level in key[2]))


def requirements(queue_required: Mapping[int, int], item: ItemState) -> tuple[tuple[int, int], ...]:
    """Queue and item skills (the higher level wins), after overflow relaxation."""
    if item.drop_skills:
        return ()
    merged = dict(queue_required)
    for skill, level in item.extra_skills.items():
        if level > merged.get(skill, 0):
            merged[skill] = level
    relax = item.relax
    return tuple(sorted((skill, max(1, level - relax)) for skill, level in merged.items()))
