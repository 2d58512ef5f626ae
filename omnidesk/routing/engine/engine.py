"""The indexed router: per-decision work proportional to what changed, not to the centre.

Waiting items are grouped by requirement key (queue, channel, effective skills, sticky
agent) in rank heaps; each group knows which agents satisfy its key (``eligible``, built
once per key from a per-skill index) and keeps its free ones in a policy heap. Each agent
knows its groups per channel.

Between two matching passes, only agents or groups that changed ("dirty") can form a new
match: after a pass, no waiting item has an eligible free agent. So a pass looks only at
the heads of dirty groups and of the groups of dirty agents, best head first, and asks
each group's free-agent heap (plus the few dirty agents) for the best agent. Dirty agents
are put into the free-agent heaps of their groups only at the end of a pass, and only if
they are still free: under load an agent that frees up takes an item at once and is never
pushed anywhere.
"""

from __future__ import annotations

import heapq

from omnidesk.routing.engine.core import RouterCore
from omnidesk.routing.engine.indexes import AgentEntry, Group, TimerQueue
from omnidesk.routing.engine.rules import (
    AgentState,
    GroupKey,
    ItemState,
    Rank,
    is_free,
    policy_value,
    statically_eligible,
)


class Router(RouterCore):
    """The router's decision core: pure, deterministic for a given ``seed``."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self._groups: dict[GroupKey, Group] = {}
        self._groups_by_queue: dict[int, dict[GroupKey, Group]] = {}
        # skill -> agent_id -> level: finds a new key's eligible agents without a full scan.
        self._skill_index: dict[int, dict[int, int]] = {}
        self._dirty_agents: dict[int, AgentState] = {}
        self._dirty_groups: dict[GroupKey, Group] = {}
        self._timers = TimerQueue(self._event_due)
        self._candidates: list[tuple[Rank, int, Group]] = []
        self._pass_dirty_keys: set[GroupKey] = set()
        # channel -> agents with a capacity for it: candidates for keys without skills.
        self._channel_agents: dict[str, dict[int, None]] = {}

    # Items --------------------------------------------------------------------------------

    def _on_waiting(self, item: ItemState) -> None:
        groups: list[Group] = []
        for key in item.alts:
            group = self._groups.get(key) or self._new_group(key)
            group.push_item(item)
            groups.append(group)
            self._dirty_groups[key] = group
        item.groups = groups

    def _on_left(self, item: ItemState) -> None:
        for obj in item.groups:
            obj.drop_item()
            # A sticky key belongs to a handful of items; keeping it would grow every
            # agent's group list for the rest of the day.
            if obj.live == 0 and obj.key[3] is not None and obj.alive:
                self._drop_group(obj)
        item.groups = []

    def _new_group(self, key: GroupKey) -> Group:
        queue_id, channel, required, sticky = key
        agents = self._agents
        if sticky is not None:
            candidates: list[int] = [sticky] if sticky in agents else []
        else:
            # Start from the fewest agents to check: the rarest skill's, or the channel's.
            pools: list[dict[int, int] | dict[int, None]] = [
                self._skill_index.get(skill, {}) for skill, _level in required
            ]
            pools.append(self._channel_agents.get(channel, {}))
            candidates = list(min(pools, key=len))
        eligible = {aid for aid in candidates if statically_eligible(agents[aid], key)}
        group = Group(key, self._queues[queue_id].policy, eligible)
        self._groups[key] = group
        self._groups_by_queue.setdefault(queue_id, {})[key] = group
        dirty = self._dirty_agents
        for aid in sorted(eligible):
            agent = agents[aid]
            agent.groups.setdefault(channel, {})[key] = group
            if aid not in dirty and is_free(agent, channel):
                group.agents.append(self._agent_entry(group, agent))
        heapq.heapify(group.agents)
        return group

    def _drop_group(self, group: Group) -> None:
        group.alive = False
        key = group.key
        del self._groups[key]
        del self._groups_by_queue[key[0]][key]
        self._dirty_groups.pop(key, None)
        for aid in group.eligible:
            self._agents[aid].groups[group.channel].pop(key, None)

    def _on_queue_config(self, queue_id: int) -> None:
        # Policies and requirements are baked into the keys: the core places the queue's
        # items again, into fresh groups.
        for group in list(self._groups_by_queue.get(queue_id, {}).values()):
            self._drop_group(group)

    # Agents -------------------------------------------------------------------------------

    def _on_agent(self, agent: AgentState) -> None:
        agent.stamp += 1
        self._dirty_agents[agent.agent_id] = agent

    def _on_agent_config(self, agent: AgentState, skills_changed: bool) -> None:
        if not skills_changed:
            return
        aid = agent.agent_id
        for by_key in agent.groups.values():
            for group in by_key.values():
                group.eligible.discard(aid)
        agent.groups = {}
        for levels in self._skill_index.values():
            levels.pop(aid, None)
        for skill, level in agent.config.skills.items():
            self._skill_index.setdefault(skill, {})[aid] = level
        for members in self._channel_agents.values():
            members.pop(aid, None)
        for channel, capacity in agent.config.capacity.items():
            if capacity > 0:
                self._channel_agents.setdefault(channel, {})[aid] = None
        for key, group in self._groups.items():
            if statically_eligible(agent, key):
                group.eligible.add(aid)
                agent.groups.setdefault(group.channel, {})[key] = group

    def _agent_entry(self, group: Group, agent: AgentState) -> AgentEntry:
        value = policy_value(group.policy, agent, group.key)
        return (value, agent.tb, agent.agent_id, agent.stamp)

    # Timers -------------------------------------------------------------------------------

    def _schedule(self, due: float, kind: int, ident: int) -> None:
        self._timers.push(due, kind, ident)

    def _peek_due(self) -> tuple[float, int, int] | None:
        return self._timers.peek()

    # Matching -----------------------------------------------------------------------------

    def _begin_pass(self) -> None:
        candidates: dict[GroupKey, Group] = dict(self._dirty_groups)
        for agent in self._dirty_agents.values():
            if agent.presence != "available" or agent.exclusive_held:
                continue
            for channel, by_key in agent.groups.items():
                if by_key and is_free(agent, channel):
                    candidates.update(by_key)
        heap: list[tuple[Rank, int, Group]] = []
        for n, group in enumerate(candidates.values()):
            head = group.head()
            if head is not None:
                heap.append((head[0], n, group))
        heapq.heapify(heap)
        self._candidates = heap
        self._pass_dirty_keys = set(self._dirty_groups)

    def _next_match(self) -> tuple[ItemState, AgentState] | None:
        heap = self._candidates
        dirty_keys = self._pass_dirty_keys
        # A group nothing was added to can only be served by a dirty agent: the others were
        # already free after the last pass and found nothing in it.
        open_channels = {
            channel
            for agent in self._dirty_agents.values()
            for channel in agent.config.capacity
            if is_free(agent, channel)
        }
        if not open_channels and not dirty_keys:
            heap.clear()
            return None
        while heap:
            rank, n, group = heap[0]
            if group.channel not in open_channels and group.key not in dirty_keys:
                heapq.heappop(heap)
                continue
            head = group.head() if group.alive else None
            if head is None:
                heapq.heappop(heap)
                continue
            if head[0] != rank:
                # Heads only get worse during a pass: refresh the entry and look again.
                heapq.heapreplace(heap, (head[0], n, group))
                continue
            item = head[2]
            for alt in item.groups:
                agent = self._best_agent(alt)
                if agent is not None:
                    return item, agent
            # No free agent for this group: capacity only shrinks during a pass.
            heapq.heappop(heap)
        return None

    def _best_agent(self, group: Group) -> AgentState | None:
        agents = self._agents
        best = group.best_registered(agents)
        if self._dirty_agents:
            channel = group.channel
            eligible = group.eligible
            for agent in self._dirty_agents.values():
                if agent.agent_id in eligible and is_free(agent, channel):
                    entry = self._agent_entry(group, agent)
                    if best is None or entry < best:
                        best = entry
        return None if best is None else agents[best[2]]

    def _end_pass(self) -> None:
        self._candidates = []
        self._pass_dirty_keys = set()
        agents = self._agents
        for agent in self._dirty_agents.values():
            if agent.presence != "available" or agent.exclusive_held:
                continue
            for channel, by_key in agent.groups.items():
                if not is_free(agent, channel):
                    continue
                for group in by_key.values():
                    group.push_agent(self._agent_entry(group, agent), agents)
        self._dirty_agents = {}
        self._dirty_groups = {}

    # Introspection for tests and the bench -------------------------------------------------

    def group_count(self) -> int:
        return len(self._groups)
