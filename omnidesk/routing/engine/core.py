"""The router's commands: one state machine, two ways of finding matches (indexed, naive).

Every command takes the virtual time ``now`` and returns the decisions it caused, in order.
After a command, matching runs until no waiting item has an eligible free agent. The
greedy order is fixed so that both engines agree: the best-ranked waiting item that has any
eligible free agent goes first (rank: effective priority desc, ``enqueued_at`` asc, seeded
tie-break); it goes to the best agent of the first of its queues (own queue, then queues
added by overflow) that has one, by that queue's policy, then a seeded tie-break.

Timers run only in ``tick``: events due at or before ``now`` are handled in
(due, kind, id) order, matching after each one. Other commands never look at the clock, so
an offer stays open until a ``tick`` times it out.
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Self

from omnidesk.routing.engine.model import (
    PRESENCES,
    Abandoned,
    AgentConfig,
    Assigned,
    Completed,
    Decision,
    OfferDeclined,
    OfferMade,
    OfferTimedOut,
    OfferWithdrawn,
    Overflowed,
    Presence,
    PresenceChanged,
    QueueConfig,
    Requeued,
    RoutingError,
    Transferred,
    WorkItem,
    WrapUpEnded,
)
from omnidesk.routing.engine.rules import (
    ASSIGNED,
    GONE,
    OFFER_TIMEOUT,
    OFFERED,
    OVERFLOW_STEP,
    STICKY_END,
    WAITING,
    WRAP_UP_END,
    AgentState,
    GroupKey,
    ItemState,
    requirements,
)


class Offer:
    __slots__ = ("agent_id", "expires_at", "item_id", "offer_id")

    def __init__(self, offer_id: int, item_id: int, agent_id: int, expires_at: float) -> None:
        self.offer_id = offer_id
        self.item_id = item_id
        self.agent_id = agent_id
        self.expires_at = expires_at


class RouterCore(ABC):
    """Commands and timers; subclasses supply the matching and the timer queue."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._queues: dict[int, QueueConfig] = {}
        self._agents: dict[int, AgentState] = {}
        self._items: dict[int, ItemState] = {}
        self._offers: dict[int, Offer] = {}
        self._next_offer_id = 1
        # Items that name a queue (own or added by overflow), in a deterministic order.
        self._queue_refs: dict[int, dict[int, None]] = {}

    @classmethod
    def copy_of(cls, other: RouterCore) -> Self:
        """A router of this kind in ``other``'s state (same seed, offers, timers, ids)."""
        router = cls(other.seed)
        router._queues = dict(other._queues)
        router._queue_refs = {qid: dict(refs) for qid, refs in other._queue_refs.items()}
        router._next_offer_id = other._next_offer_id
        for qid in router._queues:
            router._on_queue_config(qid)
        for aid, source in other._agents.items():
            agent = AgentState(source.config, other.seed)
            for name in ("presence", "before_wrap_up", "wrap_up_until", "idle_since", "missed"):
                setattr(agent, name, getattr(source, name))
            agent.held = dict(source.held)
            agent.total_held, agent.exclusive_held = source.total_held, source.exclusive_held
            agent.offers, agent.assigned = dict(source.offers), dict(source.assigned)
            router._agents[aid] = agent
            router._on_agent_config(agent, True)
            router._on_agent(agent)
        for iid, source_item in other._items.items():
            item = copy.copy(source_item)
            item.extra_skills = dict(source_item.extra_skills)
            item.added_queues = list(source_item.added_queues)
            item.groups = []
            router._items[iid] = item
            if item.state == WAITING:
                router._on_waiting(item)
        for oid, offer in other._offers.items():
            router._offers[oid] = Offer(oid, offer.item_id, offer.agent_id, offer.expires_at)
        for event in other._timer_events():
            router._schedule(*event)
        return router

    # What a subclass provides -----------------------------------------------------------

    @abstractmethod
    def _on_waiting(self, item: ItemState) -> None:
        """``item`` was placed (or placed again) among the waiting items."""

    @abstractmethod
    def _on_left(self, item: ItemState) -> None:
        """``item`` stops waiting, or is about to be placed again."""

    @abstractmethod
    def _on_agent(self, agent: AgentState) -> None:
        """The agent's presence, capacity use or policy standing changed."""

    @abstractmethod
    def _on_agent_config(self, agent: AgentState, skills_changed: bool) -> None:
        """The agent is new, or its skills or capacities changed."""

    @abstractmethod
    def _on_queue_config(self, queue_id: int) -> None:
        """The queue is new, changed or removed: what was derived from it is stale."""

    @abstractmethod
    def _schedule(self, due: float, kind: int, ident: int) -> None:
        """A timer for (kind, ident) may now be due at ``due``."""

    @abstractmethod
    def _peek_due(self) -> tuple[float, int, int] | None:
        """The earliest (due, kind, id) timer event that is still current."""

    @abstractmethod
    def _begin_pass(self) -> None: ...

    @abstractmethod
    def _next_match(self) -> tuple[ItemState, AgentState] | None: ...

    @abstractmethod
    def _end_pass(self) -> None: ...

    # Read access (tests, the bench, the loader) -------------------------------------------

    def presence(self, agent_id: int) -> Presence:
        return self._agent(agent_id).presence

    def held(self, agent_id: int) -> dict[str, int]:
        """Offers and assignments the agent holds, per channel."""
        return {ch: n for ch, n in self._agent(agent_id).held.items() if n}

    def item_state(self, item_id: int) -> str | None:
        item = self._items.get(item_id)
        return None if item is None else ("waiting", "offered", "assigned")[item.state]

    def waiting_count(self) -> int:
        return sum(1 for item in self._items.values() if item.state == WAITING)

    def open_offers(self) -> dict[int, tuple[int, int]]:
        """offer_id -> (item_id, agent_id)."""
        return {o.offer_id: (o.item_id, o.agent_id) for o in self._offers.values()}

    def next_deadline(self) -> float | None:
        due = self._peek_due()
        return None if due is None else due[0]

    def queue_ids(self) -> set[int]:
        return set(self._queues)

    # Commands -----------------------------------------------------------------------------

    def configure_queue(self, queue: QueueConfig, now: float | None = None) -> list[Decision]:
        """Add or change a queue. Without ``now`` matching waits for the next timed command."""
        qid = queue.queue_id
        existed = qid in self._queues
        self._queues[qid] = queue
        self._queue_refs.setdefault(qid, {})
        self._on_queue_config(qid)
        if existed:
            for item in self._referring(qid):
                self._rearm(item)
        return self._match(now, [])

    def remove_queue(self, queue_id: int, now: float | None = None) -> list[Decision]:
        """Remove a queue no item belongs to; items it was added to by overflow lose it."""
        self._queue(queue_id)
        referring = list(self._referring(queue_id))
        if any(item.queue_id == queue_id for item in referring):
            raise RoutingError(f"queue {queue_id} still holds work items")
        del self._queues[queue_id]
        del self._queue_refs[queue_id]
        self._on_queue_config(queue_id)
        for item in referring:
            item.added_queues.remove(queue_id)
            self._rearm(item)
        return self._match(now, [])

    def upsert_agent(self, config: AgentConfig, now: float | None = None) -> list[Decision]:
        """Add an agent (``offline``) or change its skills, capacities or options."""
        agent = self._agents.get(config.agent_id)
        if agent is None:
            agent = AgentState(config, self.seed)
            self._agents[config.agent_id] = agent
            self._on_agent_config(agent, True)
        else:
            old = agent.config
            agent.config = config
            agent.total_capacity = sum(config.capacity.values())
            agent.exclusive_held = sum(
                n for ch, n in agent.held.items() if ch in config.exclusive_channels
            )
            self._on_agent_config(
                agent, dict(old.skills) != dict(config.skills) or old.capacity != config.capacity
            )
        self._on_agent(agent)
        return self._match(now, [])

    def set_presence(
        self, agent_id: int, presence: Presence, now: float, reason: str | None = None
    ) -> list[Decision]:
        """The agent's own choice; leaving ``available`` withdraws its open offers."""
        agent = self._agent(agent_id)
        if presence not in PRESENCES or presence == "wrap_up":
            raise RoutingError(f"presence {presence!r} cannot be set")
        if presence == agent.presence:
            return []
        out: list[Decision] = [PresenceChanged(agent_id, presence, reason)]
        if presence == "available":
            agent.missed = 0
            agent.idle_since = now
        agent.presence = presence
        agent.wrap_up_until = None
        if presence != "available":
            self._withdraw_all(agent, "presence_changed", out)
        self._on_agent(agent)
        return self._match(now, out)

    def enqueue(self, work: WorkItem, now: float) -> list[Decision]:
        if work.item_id in self._items:
            raise RoutingError(f"work item {work.item_id} is already routed")
        queue = self._queue(work.queue_id)
        item = ItemState(work, self.seed)
        if work.sticky_agent_id is not None and queue.sticky_window_s > 0:
            item.sticky_agent_id = work.sticky_agent_id
            item.sticky_until = now + queue.sticky_window_s
        self._items[item.item_id] = item
        self._queue_refs[item.queue_id][item.item_id] = None
        self._place(item)
        return self._match(now, [])

    def restore_assigned(self, work: WorkItem, agent_id: int, now: float) -> list[Decision]:
        """Rebuilding from stored state: the item is already the agent's (capacity held)."""
        if work.item_id in self._items:
            raise RoutingError(f"work item {work.item_id} is already routed")
        self._queue(work.queue_id)
        agent = self._agent(agent_id)
        item = ItemState(work, self.seed)
        self._items[item.item_id] = item
        self._queue_refs[item.queue_id][item.item_id] = None
        item.state = ASSIGNED
        agent.assigned[item.item_id] = None
        self._hold(agent, item, now)
        return self._match(now, [])

    def abandon(self, item_id: int, now: float) -> list[Decision]:
        """The customer left before an agent took the item."""
        item = self._item(item_id)
        if item.state == ASSIGNED:
            raise RoutingError(f"work item {item_id} is assigned: complete it instead")
        out: list[Decision] = []
        if item.state == OFFERED:
            assert item.offer_id is not None
            self._close_offer(self._offers[item.offer_id], "abandoned", out)
        else:
            self._on_left(item)
        self._forget(item)
        out.append(Abandoned(item_id, now - item.enqueued_at))
        return self._match(now, out)

    def accept(self, offer_id: int, now: float) -> list[Decision]:
        offer = self._offer(offer_id)
        del self._offers[offer_id]
        item = self._items[offer.item_id]
        agent = self._agents[offer.agent_id]
        item.state = ASSIGNED
        item.offer_id = None
        del agent.offers[offer_id]
        agent.assigned[item.item_id] = None
        agent.missed = 0
        return self._match(now, [Assigned(item.item_id, agent.agent_id, False, offer_id)])

    def decline(self, offer_id: int, now: float, reason: str | None = None) -> list[Decision]:
        offer = self._offer(offer_id)
        out: list[Decision] = [
            OfferDeclined(offer_id, offer.item_id, offer.agent_id, reason or "declined")
        ]
        item = self._release_offer(offer)
        out.append(Requeued(item.item_id, "declined"))
        self._place(item)
        return self._match(now, out)

    def complete(self, item_id: int, now: float) -> list[Decision]:
        """The agent finished: capacity is freed and the queue's wrap-up starts."""
        item = self._item(item_id)
        if item.state != ASSIGNED:
            raise RoutingError(f"work item {item_id} is not assigned")
        assert item.agent_id is not None
        agent = self._agents[item.agent_id]
        self._unhold(agent, item)
        del agent.assigned[item_id]
        self._forget(item)
        out: list[Decision] = [Completed(item_id, agent.agent_id)]
        wrap_up_s = self._queues[item.queue_id].wrap_up_s
        if wrap_up_s > 0:
            if agent.presence != "wrap_up":
                agent.before_wrap_up = agent.presence
                agent.presence = "wrap_up"
                out.append(PresenceChanged(agent.agent_id, "wrap_up", "wrap_up"))
            until = now + wrap_up_s
            if agent.wrap_up_until is None or until > agent.wrap_up_until:
                agent.wrap_up_until = until
                self._schedule(until, WRAP_UP_END, agent.agent_id)
        elif agent.presence == "available":
            agent.idle_since = now
        self._on_agent(agent)
        return self._match(now, out)

    def transfer_to_queue(
        self, item_id: int, queue_id: int, now: float, note: str | None = None
    ) -> list[Decision]:
        """Route the item again from another queue; its age is kept, its overflow restarts."""
        self._queue(queue_id)
        item = self._item(item_id)
        out: list[Decision] = []
        self._detach(item, out)
        self._queue_refs[item.queue_id].pop(item.item_id, None)
        for added in item.added_queues:
            self._queue_refs[added].pop(item.item_id, None)
        item.queue_id = queue_id
        self._queue_refs[queue_id][item.item_id] = None
        item.queued_since = now
        item.steps_applied = item.relax = item.raise_by = 0
        item.drop_skills = False
        item.added_queues = []
        item.sticky_agent_id = item.sticky_until = None
        item.pinned = False
        item.transfer_count += 1
        out.append(Transferred(item_id, queue_id, None, item.transfer_count, note))
        self._place(item)
        return self._match(now, out)

    def transfer_to_agent(
        self, item_id: int, agent_id: int, now: float, note: str | None = None
    ) -> list[Decision]:
        """Offer the item to this agent only, whatever its skills, until they refuse it."""
        self._agent(agent_id)
        item = self._item(item_id)
        out: list[Decision] = []
        self._detach(item, out)
        item.sticky_agent_id = agent_id
        item.sticky_until = None
        item.pinned = True
        item.transfer_count += 1
        out.append(Transferred(item_id, None, agent_id, item.transfer_count, note))
        self._place(item)
        return self._match(now, out)

    def disconnect(self, agent_id: int, now: float) -> list[Decision]:
        """Logout or lost connection: offers and assignments go back to their queues."""
        agent = self._agent(agent_id)
        out: list[Decision] = []
        if agent.presence != "offline":
            out.append(PresenceChanged(agent_id, "offline", "disconnected"))
        agent.presence = "offline"
        agent.wrap_up_until = None
        self._withdraw_all(agent, "disconnected", out)
        for iid in list(agent.assigned):
            item = self._items[iid]
            del agent.assigned[iid]
            self._unhold(agent, item)
            self._let_go(item, agent)
            out.append(Requeued(iid, "agent_disconnected"))
            self._place(item)
        self._on_agent(agent)
        return self._match(now, out)

    def tick(self, now: float) -> list[Decision]:
        out: list[Decision] = []
        while (due := self._peek_due()) is not None and due[0] <= now:
            _due, kind, ident = due
            if kind == WRAP_UP_END:
                self._end_wrap_up(self._agents[ident], now, out)
            elif kind == OFFER_TIMEOUT:
                self._time_out(self._offers[ident], out)
            elif kind == STICKY_END:
                item = self._items[ident]
                item.sticky_agent_id = item.sticky_until = None
                self._place(item)
            else:
                self._overflow(self._items[ident], out)
            self._match(now, out)
        return out

    # Timers -------------------------------------------------------------------------------

    def _event_due(self, kind: int, ident: int) -> float | None:
        """When (kind, ident) is due in the current state, or None: the one truth for timers."""
        if kind == WRAP_UP_END:
            agent = self._agents.get(ident)
            if agent is None or agent.presence != "wrap_up":
                return None
            return agent.wrap_up_until
        if kind == OFFER_TIMEOUT:
            offer = self._offers.get(ident)
            return None if offer is None else offer.expires_at
        item = self._items.get(ident)
        if item is None or item.state != WAITING or item.pinned:
            return None
        if kind == STICKY_END:
            return item.sticky_until
        steps = self._queues[item.queue_id].overflow
        if item.steps_applied >= len(steps):
            return None
        return item.queued_since + steps[item.steps_applied].after_s

    def _timer_events(self) -> Iterator[tuple[float, int, int]]:
        """Every current timer event (a scan: for the naive engine and for checks)."""
        for agent in self._agents.values():
            due = self._event_due(WRAP_UP_END, agent.agent_id)
            if due is not None:
                yield due, WRAP_UP_END, agent.agent_id
        for offer in self._offers.values():
            yield offer.expires_at, OFFER_TIMEOUT, offer.offer_id
        for item in self._items.values():
            for kind in (STICKY_END, OVERFLOW_STEP):
                due = self._event_due(kind, item.item_id)
                if due is not None:
                    yield due, kind, item.item_id

    def _end_wrap_up(self, agent: AgentState, now: float, out: list[Decision]) -> None:
        agent.wrap_up_until = None
        agent.presence = agent.before_wrap_up
        if agent.presence == "available":
            agent.idle_since = now
        out.append(WrapUpEnded(agent.agent_id))
        out.append(PresenceChanged(agent.agent_id, agent.presence, "wrap_up_ended"))
        self._on_agent(agent)

    def _time_out(self, offer: Offer, out: list[Decision]) -> None:
        out.append(OfferTimedOut(offer.offer_id, offer.item_id, offer.agent_id))
        agent = self._agents[offer.agent_id]
        item = self._release_offer(offer)
        agent.missed += 1
        out.append(Requeued(item.item_id, "offer_timed_out"))
        self._place(item)
        limit = self._queues[item.queue_id].max_missed_offers
        if limit and agent.missed >= limit and agent.presence == "available":
            agent.presence = "away"
            out.append(PresenceChanged(agent.agent_id, "away", "missed_offers"))
            self._withdraw_all(agent, "missed_offers", out)
            self._on_agent(agent)

    def _overflow(self, item: ItemState, out: list[Decision]) -> None:
        index = item.steps_applied
        step = self._queues[item.queue_id].overflow[index]
        item.steps_applied += 1
        item.relax += step.relax_levels
        item.drop_skills = item.drop_skills or step.drop_skills
        item.raise_by += step.raise_priority_by
        for qid in step.add_queue_ids:
            if qid in self._queues and qid != item.queue_id and qid not in item.added_queues:
                item.added_queues.append(qid)
                self._queue_refs[qid][item.item_id] = None
        out.append(Overflowed(item.item_id, index))
        self._place(item)

    # Items --------------------------------------------------------------------------------

    def _place(self, item: ItemState) -> None:
        """(Re)compute where the item waits and put it there."""
        if item.state == WAITING and item.groups:
            self._on_left(item)
        queue = self._queues[item.queue_id]
        channel = item.channel
        if item.pinned:
            alts: tuple[GroupKey, ...] = ((item.queue_id, channel, (), item.sticky_agent_id),)
        else:
            sticky = item.sticky_agent_id
            alts = ((item.queue_id, channel, requirements(queue.required_skills, item), sticky),)
            if sticky is None:
                alts += tuple(
                    (qid, channel, requirements(self._queues[qid].required_skills, item), None)
                    for qid in item.added_queues
                )
        item.alts = alts
        prio = item.priority + queue.priority_bonus + item.raise_by
        item.rank = (-prio, item.enqueued_at, item.tb, item.item_id)
        item.state = WAITING
        item.agent_id = item.offer_id = None
        item.version += 1
        self._on_waiting(item)
        for kind in (STICKY_END, OVERFLOW_STEP):
            due = self._event_due(kind, item.item_id)
            if due is not None:
                self._schedule(due, kind, item.item_id)

    def _rearm(self, item: ItemState) -> None:
        """The item's queues changed: place it again if it waits."""
        if item.state == WAITING:
            self._place(item)

    def _forget(self, item: ItemState) -> None:
        # Heap entries still point at the record: its state is what makes them stale.
        item.state = GONE
        del self._items[item.item_id]
        self._queue_refs[item.queue_id].pop(item.item_id, None)
        for qid in item.added_queues:
            self._queue_refs[qid].pop(item.item_id, None)

    def _referring(self, queue_id: int) -> Iterator[ItemState]:
        for iid in list(self._queue_refs.get(queue_id, ())):
            yield self._items[iid]

    def _detach(self, item: ItemState, out: list[Decision]) -> None:
        """Free the item from its offer or agent before it is routed again."""
        if item.state == OFFERED:
            assert item.offer_id is not None
            self._close_offer(self._offers[item.offer_id], "transferred", out)
        elif item.state == ASSIGNED:
            assert item.agent_id is not None
            agent = self._agents[item.agent_id]
            del agent.assigned[item.item_id]
            self._unhold(agent, item)
            self._on_agent(agent)

    def _let_go(self, item: ItemState, agent: AgentState) -> None:
        # The sticky or chosen agent had their turn: from now on anyone eligible may take it.
        if item.sticky_agent_id == agent.agent_id:
            item.sticky_agent_id = item.sticky_until = None
            item.pinned = False

    # Offers and capacity ------------------------------------------------------------------

    def _hold(self, agent: AgentState, item: ItemState, now: float) -> None:
        channel = item.channel
        agent.held[channel] = agent.held.get(channel, 0) + 1
        agent.total_held += 1
        if channel in agent.config.exclusive_channels:
            agent.exclusive_held += 1
        agent.idle_since = now
        item.agent_id = agent.agent_id
        self._on_agent(agent)

    def _unhold(self, agent: AgentState, item: ItemState) -> None:
        channel = item.channel
        agent.held[channel] -= 1
        agent.total_held -= 1
        if channel in agent.config.exclusive_channels:
            agent.exclusive_held -= 1
        self._on_agent(agent)

    def _make_offer(
        self, item: ItemState, agent: AgentState, now: float, out: list[Decision]
    ) -> None:
        self._on_left(item)
        self._hold(agent, item, now)
        if agent.config.auto_accept:
            item.state = ASSIGNED
            agent.assigned[item.item_id] = None
            out.append(Assigned(item.item_id, agent.agent_id, True))
            return
        offer_id = self._next_offer_id
        self._next_offer_id += 1
        expires_at = now + self._queues[item.queue_id].offer_timeout_s
        self._offers[offer_id] = Offer(offer_id, item.item_id, agent.agent_id, expires_at)
        agent.offers[offer_id] = None
        item.state = OFFERED
        item.offer_id = offer_id
        out.append(OfferMade(offer_id, item.item_id, agent.agent_id, expires_at))
        self._schedule(expires_at, OFFER_TIMEOUT, offer_id)

    def _release_offer(self, offer: Offer) -> ItemState:
        """Close the offer and free the agent's capacity; the caller places the item."""
        del self._offers[offer.offer_id]
        agent = self._agents[offer.agent_id]
        item = self._items[offer.item_id]
        del agent.offers[offer.offer_id]
        self._unhold(agent, item)
        self._let_go(item, agent)
        item.offer_id = None
        return item

    def _close_offer(self, offer: Offer, reason: str, out: list[Decision]) -> None:
        out.append(OfferWithdrawn(offer.offer_id, offer.item_id, offer.agent_id, reason))
        self._release_offer(offer)

    def _withdraw_all(self, agent: AgentState, reason: str, out: list[Decision]) -> None:
        for offer_id in list(agent.offers):
            offer = self._offers[offer_id]
            self._close_offer(offer, reason, out)
            item = self._items[offer.item_id]
            out.append(Requeued(item.item_id, reason))
            self._place(item)

    def _match(self, now: float | None, out: list[Decision]) -> list[Decision]:
        if now is None:
            return out
        if not math.isfinite(now):
            raise RoutingError("now must be a finite number of seconds")
        self._begin_pass()
        try:
            while (pair := self._next_match()) is not None:
                self._make_offer(pair[0], pair[1], now, out)
        finally:
            self._end_pass()
        return out

    # Look-ups -----------------------------------------------------------------------------

    def _agent(self, agent_id: int) -> AgentState:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise RoutingError(f"unknown agent {agent_id}")
        return agent

    def _item(self, item_id: int) -> ItemState:
        item = self._items.get(item_id)
        if item is None:
            raise RoutingError(f"unknown work item {item_id}")
        return item

    def _queue(self, queue_id: int) -> QueueConfig:
        queue = self._queues.get(queue_id)
        if queue is None:
            raise RoutingError(f"unknown queue {queue_id}")
        return queue

    def _offer(self, offer_id: int) -> Offer:
        offer = self._offers.get(offer_id)
        if offer is None:
            raise RoutingError(f"no open offer {offer_id}")
        return offer
