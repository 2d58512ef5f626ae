"""Heaps with lazy deletion: waiting items per requirement key, free agents per key, timers.

Removing from the middle of a heap costs O(n); instead an entry carries the version (item)
or stamp (agent) it was pushed with, and a stale entry is dropped when it reaches the top.
A heap is rebuilt when stale entries outnumber live ones, so garbage stays O(live).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TypeAlias

from omnidesk.routing.engine.model import Policy
from omnidesk.routing.engine.rules import WAITING, AgentState, GroupKey, ItemState, Rank

ItemEntry: TypeAlias = tuple[Rank, int, ItemState]
#: (policy value, agent tie-break, agent_id, stamp)
AgentEntry: TypeAlias = tuple[float, int, int, int]

_SLACK = 32


class Group:
    """The waiting items that share one requirement key, and the agents who can serve them.

    All items of a group have the same eligible agents, so when its head has no free
    eligible agent, no item in it has: matching only ever looks at group heads.
    """

    __slots__ = ("agents", "alive", "channel", "eligible", "items", "key", "live", "policy")

    def __init__(self, key: GroupKey, policy: Policy, eligible: set[int]) -> None:
        self.key = key
        self.channel = key[1]
        self.policy = policy
        self.eligible = eligible
        self.items: list[ItemEntry] = []
        self.live = 0
        # Free agents, pushed when they become free; stale once their stamp moves on.
        self.agents: list[AgentEntry] = []
        self.alive = True

    def push_item(self, item: ItemState) -> None:
        heapq.heappush(self.items, (item.rank, item.version, item))
        self.live += 1

    def drop_item(self) -> None:
        self.live -= 1
        if len(self.items) > 2 * self.live + _SLACK:
            self.items = [e for e in self.items if _item_live(e)]
            heapq.heapify(self.items)

    def head(self) -> ItemEntry | None:
        items = self.items
        while items:
            entry = items[0]
            item = entry[2]
            if item.state == WAITING and item.version == entry[1]:
                return entry
            heapq.heappop(items)
        return None

    def push_agent(self, entry: AgentEntry, agents: dict[int, AgentState]) -> None:
        heap = self.agents
        heapq.heappush(heap, entry)
        if len(heap) > 2 * len(self.eligible) + _SLACK:
            self.agents = [e for e in heap if agents[e[2]].stamp == e[3]]
            heapq.heapify(self.agents)

    def best_registered(self, agents: dict[int, AgentState]) -> AgentEntry | None:
        heap = self.agents
        while heap:
            entry = heap[0]
            if agents[entry[2]].stamp == entry[3]:
                return entry
            heapq.heappop(heap)
        return None


def _item_live(entry: ItemEntry) -> bool:
    return entry[2].state == WAITING and entry[2].version == entry[1]


class TimerQueue:
    """(due, kind, id) events; an entry is current while ``due_of(kind, id)`` still says so."""

    __slots__ = ("_due_of", "_heap")

    def __init__(self, due_of: Callable[[int, int], float | None]) -> None:
        self._heap: list[tuple[float, int, int]] = []
        self._due_of = due_of

    def push(self, due: float, kind: int, ident: int) -> None:
        heapq.heappush(self._heap, (due, kind, ident))

    def peek(self) -> tuple[float, int, int] | None:
        heap = self._heap
        while heap:
            entry = heap[0]
            if self._due_of(entry[1], entry[2]) == entry[0]:
                return entry
            heapq.heappop(heap)
        return None

    def __len__(self) -> int:
        return len(self._heap)
