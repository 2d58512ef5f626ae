"""The naive router: the same decisions as :class:`Router` by scanning every agent and item.

It is the oracle of the property tests and the baseline of ``omnidesk bench routing``.
"""

from __future__ import annotations

from omnidesk.routing.engine.core import RouterCore
from omnidesk.routing.engine.rules import (
    WAITING,
    AgentState,
    GroupKey,
    ItemState,
    is_free,
    policy_value,
    statically_eligible,
)


class NaiveRouter(RouterCore):
    def _on_waiting(self, item: ItemState) -> None:
        pass

    def _on_left(self, item: ItemState) -> None:
        pass

    def _on_agent(self, agent: AgentState) -> None:
        pass

    def _on_agent_config(self, agent: AgentState, skills_changed: bool) -> None:
        pass

    def _on_queue_config(self, queue_id: int) -> None:
        pass

    def _schedule(self, due: float, kind: int, ident: int) -> None:
        pass

    def _peek_due(self) -> tuple[float, int, int] | None:
        return min(self._timer_events(), default=None)

    def _begin_pass(self) -> None:
        pass

    def _end_pass(self) -> None:
        pass

    def _next_match(self) -> tuple[ItemState, AgentState] | None:
        free = [
            a
            for a in self._agents.values()
            if any(is_free(a, channel) for channel in a.config.capacity)
        ]
        if not free:
            return None
        waiting = sorted(
            (item for item in self._items.values() if item.state == WAITING),
            key=lambda item: item.rank,
        )
        for item in waiting:
            for key in item.alts:
                agent = self.best_agent(key, free)
                if agent is not None:
                    return item, agent
        return None

    def best_agent(self, key: GroupKey, agents: list[AgentState]) -> AgentState | None:
        """The agent the queue's policy picks among the free eligible ones, if any."""
        policy = self._queues[key[0]].policy
        best: tuple[float, int, int] | None = None
        chosen = None
        for agent in agents:
            if statically_eligible(agent, key) and is_free(agent, key[1]):
                entry = (policy_value(policy, agent, key), agent.tb, agent.agent_id)
                if best is None or entry < best:
                    best, chosen = entry, agent
        return chosen
