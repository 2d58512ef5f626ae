"""The router at work: the engine fed from the database, its decisions written back.

One engine per account, rebuilt from the rows when the router starts. Each round, in one
transaction per account: agents' answers to offers are applied, work that ended elsewhere
(resolved, taken by hand) leaves the engine, conversations that need an agent become
WorkItems, time moves on (offer time-outs, overflow, wrap-up), and every decision is written
back with its events. Events after commit only wake the router up; the sweep finds the work
(docs/adr/0008-router-runtime.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.models import Account
from omnidesk.kit.clock import Clock
from omnidesk.kit.db import Database
from omnidesk.kit.lease import Lease
from omnidesk.routing import after_hours, engine, live_stats, liveness, loader, rules, work
from omnidesk.routing import events as ev
from omnidesk.routing import repository as repo
from omnidesk.routing import service as routing
from omnidesk.routing.models import Offer, Queue, RoutingRule, WorkItem

log = structlog.get_logger(__name__)

#: Seconds between two sweeps when nothing wakes the router (a missed wake-up costs this).
SWEEP_S = 2.0
#: Seconds between a router's attempts to take the lease of a shard it does not hold.
STANDBY_RETRY_S = 1.0
#: The lease of one account shard. The count is part of the name: every router of an
#: installation must be given the same number of shards.
LEASE_NAME = "omnidesk-router-shard-{shard}-of-{shards}"
#: New WorkItems taken per account and round: a backlog is routed over several rounds.
BATCH = 500
#: Event types after which the router looks again (configuration, presence, conversations).
#: Not ``message.received``: a message to a conversation already routed changes nothing.
WAKING_PREFIXES = ("routing.", "agent.", "user.", "conversation.", "offer.")
#: Event types after which the account's queues and agents are read again.
CONFIG_PREFIXES = ("routing.queue.", "routing.profile.", "agent.", "user.")


class _Deposed(Exception):
    """The lease of the shard being routed is no longer held: roll the round back."""


@dataclass
class _Account:
    engine: engine.Router
    #: The engine's offer ids to the Offer rows' ids.
    offer_rows: dict[int, int] = field(default_factory=dict)
    #: The users the engine knows as agents.
    agent_ids: set[int] = field(default_factory=set)
    stale: bool = True


class RouterRuntime:
    """Routes the accounts of the shards whose leases it holds (account ``a``: shard
    ``a % shards``), and keeps trying to take the others'."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        seed: int = 0,
        sweep_s: float = SWEEP_S,
        shards: int = 1,
        leases: Mapping[int, Lease] | None = None,
    ):
        if shards < 1 or (leases is not None and not set(leases) <= set(range(shards))):
            raise ValueError(f"leases for shards of 0..{shards - 1} only")
        self.db = db
        self.shards = shards
        #: The shards this router may lead, each with its lease; without leases this process
        #: is the only router and leads every shard.
        self.leases = dict(leases) if leases is not None else None
        #: The shards it leads now.
        self.led: set[int] = set(range(shards)) if leases is None else set()
        self._retry_at = 0.0  # when to try again for the shards it does not lead (loop time)
        self.clock = clock
        self.seed = seed
        self.sweep_s = sweep_s
        self._accounts: dict[int, _Account] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: Rounds run so far (tests wait on it instead of sleeping).
        self.rounds = 0
        self._in_round = False
        self._round_done = asyncio.Condition()

    @property
    def leading(self) -> bool:
        """Whether it leads at least one shard."""
        return bool(self.led)

    async def start(self) -> None:
        self._accounts.clear()
        self._retry_at = 0.0
        self._wake = asyncio.Event()
        self._round_done = asyncio.Condition()
        self._task = asyncio.create_task(self._run(), name="router")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self.leases is not None:
            for shard in sorted(self.led):
                self._drop(shard)
            for lease in self.leases.values():
                await lease.release()

    async def on_events(self, events: list[Any]) -> None:
        """Event sink: committed changes that may give the router work."""
        woken = False
        for event in events:
            kind = str(event.type)
            if kind.startswith(CONFIG_PREFIXES):
                account = self._accounts.get(int(event.account_id))
                if account is not None:
                    account.stale = True
            woken = woken or kind.startswith(WAKING_PREFIXES)
        if woken:
            self._wake.set()

    def poke(self) -> None:
        self._wake.set()

    async def settled(self, timeout_s: float = 10.0) -> None:
        """Wait until a round has run that started after this call (for tests and tools)."""
        if self._task is None or self._task.done():
            raise RuntimeError("the router is not running") from (
                self._task.exception() if self._task is not None else None
            )
        self._wake.set()
        async with self._round_done:
            # A round running now may have read the rows before the caller's change.
            target = self.rounds + (2 if self._in_round else 1)
            await asyncio.wait_for(
                self._round_done.wait_for(lambda: self.rounds >= target), timeout_s
            )

    async def _lead(self) -> set[int]:
        """Keep the shards whose leases are still held and, every ``STANDBY_RETRY_S``, try
        to take the others; a shard lost is dropped at once, one taken is rebuilt from the
        rows. Returns the shards it leads."""
        if self.leases is None:
            return self.led
        for shard in sorted(self.led):
            if not await self.leases[shard].held():
                log.warning("router_lease_lost", shard=shard, shards=self.shards)
                self._drop(shard)
        now = asyncio.get_running_loop().time()
        if len(self.led) < len(self.leases) and now >= self._retry_at:
            self._retry_at = now + STANDBY_RETRY_S
            taken = [
                shard
                for shard, lease in sorted(self.leases.items())
                if shard not in self.led and await lease.acquire()
            ]
            for shard in taken:
                self._drop(shard)  # what it knew of the shard predates the other leader's work
                self.led.add(shard)
            if taken:
                log.info("router_leading", shards=taken, of=self.shards, led=sorted(self.led))
        return self.led

    def _drop(self, shard: int) -> None:
        """Stop routing a shard: its accounts' engines go (rebuilt from the rows if it
        leads the shard again)."""
        self.led.discard(shard)
        for account_id in [a for a in self._accounts if a % self.shards == shard]:
            del self._accounts[account_id]

    async def _run(self) -> None:
        while True:
            try:
                led = await self._lead()
            except Exception:  # the database is away: stand by and try again
                log.exception("router_lease_failed")
                if self.leases is not None:
                    for shard in sorted(self.led):
                        self._drop(shard)  # a lease still held is found again next time
                led = self.led
            if not led:
                await asyncio.sleep(STANDBY_RETRY_S)
                continue
            self._wake.clear()
            self._in_round = True
            try:
                await self.round()
            except Exception:
                log.exception("router_round_failed")
                self._accounts.clear()  # rebuilt from the rows next round
            self._in_round = False
            async with self._round_done:
                self.rounds += 1
                self._round_done.notify_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._sleep_s())

    def _sleep_s(self) -> float:
        now = self.clock.now().timestamp()
        deadlines = [
            d for a in self._accounts.values() if (d := a.engine.next_deadline()) is not None
        ]
        sleep_s = self.sweep_s
        if self.leases is not None and len(self.led) < len(self.leases):
            # Shards led by nobody (their router died) are taken within STANDBY_RETRY_S.
            sleep_s = min(sleep_s, self._retry_at - asyncio.get_running_loop().time())
        if deadlines:
            sleep_s = min(sleep_s, min(deadlines) - now)
        return max(0.0, sleep_s)

    async def round(self) -> None:
        """One transaction per account of the shards it leads."""
        async with self.db.transaction() as session:
            account_ids = list(
                await session.scalars(
                    select(Account.id)
                    .where((Account.id % self.shards).in_(sorted(self.led)))
                    .order_by(Account.id)
                )
            )
        for account_id in account_ids:
            shard = account_id % self.shards
            if shard not in self.led:
                continue  # deposed earlier in this round
            try:
                async with self.db.transaction() as session:
                    await self._route(session, account_id)
                    await session.flush()
                    # Fencing: commit only if the lease is still held as the database sees
                    # it now; a router whose lease connection was cut writes nothing more.
                    lease = self.leases[shard] if self.leases is not None else None
                    if lease is not None and not await lease.confirm(session):
                        raise _Deposed(shard)
            except _Deposed:
                log.warning("router_deposed", shard=shard, shards=self.shards)
                self._drop(shard)  # its decisions were rolled back with the transaction

    # One account's round ------------------------------------------------------------------

    async def _route(self, session: AsyncSession, account_id: int) -> None:
        await liveness.expire_lost_connections(self, session, account_id)
        account = self._accounts.get(account_id)
        out: list[engine.Decision] = []
        if account is None:
            account = await self._rebuild(session, account_id, out)
        elif account.stale:
            await self._configure(session, account_id, account, out)
        now = self.clock.now().timestamp()
        await self._apply_answers(session, account, now, out)
        await self._end_elsewhere(session, account_id, account, now, out)
        await self._transfer(session, account_id, account, now, out)
        await self._take_new_work(session, account_id, account, now, out)
        out.extend(account.engine.tick(now))
        await self._write(session, account_id, account, out)
        await live_stats.publish_live_stats(self, session, account_id)

    async def _configure(
        self, session: AsyncSession, account_id: int, account: _Account, out: list[engine.Decision]
    ) -> None:
        # Cleared first: a change committed while this reads the rows marks it stale again.
        account.stale = False
        router = account.engine
        now = self.clock.now().timestamp()
        await routing.ensure_default_profile(session, self.clock, account_id)
        for queue in await repo.list_all(session, Queue, account_id):
            out.extend(router.configure_queue(loader.queue_config(queue)))
        agents = await loader.agents(session, account_id)
        for gone in account.agent_ids - {config.agent_id for config, _, _ in agents}:
            # Deactivated: their offers and work go back to the queues.
            out.extend(router.disconnect(gone, now))
        account.agent_ids = {config.agent_id for config, _, _ in agents}
        for config, presence, reason in agents:
            out.extend(router.upsert_agent(config))
            current = router.presence(config.agent_id)
            if presence in ("wrap_up", current):
                continue  # wrap-up is the router's to start and end; the agent may leave it
            out.extend(
                router.set_presence(config.agent_id, cast(engine.Presence, presence), now, reason)
            )

    async def _rebuild(
        self, session: AsyncSession, account_id: int, out: list[engine.Decision]
    ) -> _Account:
        account = _Account(engine.Router(seed=self.seed))
        self._accounts[account_id] = account
        await self._configure(session, account_id, account, out)
        now = self.clock.now().timestamp()
        items = await repo.active_items(session, account_id)
        pending = await session.scalars(
            select(Offer).where(Offer.account_id == account_id, Offer.status == "pending")
        )
        for offer in pending:
            # The engine's timers went with the process: the work is offered afresh.
            offer.status, offer.reason, offer.decided_at = (
                "withdrawn",
                "router_restarted",
                self.clock.now(),
            )
        for item in items:
            routed = _engine_item(item)
            if item.status == "assigned" and item.agent_id is not None:
                out.extend(account.engine.restore_assigned(routed, item.agent_id, now))
            else:
                item.status, item.agent_id = "waiting", None
                out.extend(account.engine.enqueue(routed, now))
        return account

    async def _apply_answers(
        self, session: AsyncSession, account: _Account, now: float, out: list[engine.Decision]
    ) -> None:
        # Offers made earlier in this round have no row yet, nor an answer.
        open_offers = [o for o in account.engine.open_offers() if o in account.offer_rows]
        rows = await repo.offers_by_id(
            session, [account.offer_rows[o] for o in open_offers], lock=not self.db.is_sqlite
        )
        for offer_id in open_offers:
            row = rows.get(account.offer_rows[offer_id])
            if row is None or row.status == "pending":
                continue
            if row.status == "accepted":
                out.extend(account.engine.accept(offer_id, now))
            else:
                out.extend(account.engine.decline(offer_id, now, row.reason))

    async def _end_elsewhere(
        self,
        session: AsyncSession,
        account_id: int,
        account: _Account,
        now: float,
        out: list[engine.Decision],
    ) -> None:
        router = account.engine
        ended = await repo.ended_elsewhere(session, account_id)
        # Work no agent took yet whose customer left is abandoned; resolved by hand, cancelled.
        left = await repo.contacts_left(session, [c.id for i, c in ended if i.status != "assigned"])
        for item, conversation in ended:
            state = router.item_state(item.id)
            if state == "assigned":
                out.extend(router.complete(item.id, now))
            elif state is not None:
                out.extend(router.abandon(item.id, now))  # its open offer is withdrawn
            if item.status == "assigned":
                item.status = "completed"
            else:  # no agent took it: an offer's agent does not stay on it
                item.status = "abandoned" if conversation.id in left else "cancelled"
                item.agent_id = None
            item.ended_at = self.clock.now()
            data = {"status": item.status, "conversation_status": conversation.status}
            if item.status == "abandoned":
                data["reason"] = "contact_left"
            await work.record(session, self.clock, ev.WORK_ENDED, item, data)

    async def _transfer(
        self,
        session: AsyncSession,
        account_id: int,
        account: _Account,
        now: float,
        out: list[engine.Decision],
    ) -> None:
        """Transfers asked through the API: the engine moves the work, the rows follow."""
        for item in await repo.pending_transfers(session, account_id):
            asked, item.pending_transfer = item.pending_transfer or {}, None
            router = account.engine
            to_queue, to_agent = asked.get("to_queue_id"), asked.get("to_agent_id")
            if router.item_state(item.id) is None:
                continue
            if to_queue is not None and to_queue not in router.queue_ids():
                continue  # deleted meanwhile: the work stays where it is
            previous_agent = item.agent_id if item.status == "assigned" else None
            note = asked.get("note")
            try:
                if to_queue is not None:
                    decisions = router.transfer_to_queue(item.id, int(to_queue), now, note)
                elif to_agent is not None:
                    decisions = router.transfer_to_agent(item.id, int(to_agent), now, note)
                else:
                    continue
            except engine.RoutingError as exc:  # an agent the engine does not know (yet)
                log.warning("transfer_refused", work_item_id=item.id, error=str(exc))
                continue
            item.status, item.agent_id = "waiting", None
            if previous_agent is not None:
                await work.assign_conversation(session, self.clock, item, None)
            await work.record(
                session,
                self.clock,
                ev.WORK_TRANSFERRED,
                item,
                {
                    "from_agent_id": previous_agent,
                    "to_queue_id": to_queue,
                    "to_agent_id": to_agent,
                    "note": note,
                    "transfer_count": item.transfer_count + 1,
                },
                actor_user_id=asked.get("by"),
            )
            out.extend(decisions)

    async def _take_new_work(
        self,
        session: AsyncSession,
        account_id: int,
        account: _Account,
        now: float,
        out: list[engine.Decision],
    ) -> None:
        found = await repo.unrouted(session, account_id, BATCH)
        if not found:
            return
        default = await routing.ensure_default_queue(session, self.clock, account_id)
        if default.id not in account.engine.queue_ids():
            out.extend(account.engine.configure_queue(loader.queue_config(default)))
        rule_rows = [
            routing.to_rule(r) for r in await repo.list_all(session, RoutingRule, account_id)
        ]
        tags, attributes = await repo.facts_of(session, [c for c, _ in found])
        queues = {q.id: q for q in await repo.list_all(session, Queue, account_id)}
        sticky_days = max((q.sticky_days for q in queues.values()), default=0)
        last = await repo.last_agents(
            session,
            account_id,
            [c.contact_id for c, _ in found] if sticky_days else [],
            self.clock.now() - timedelta(days=sticky_days),
        )
        created: list[WorkItem] = []
        for conversation, channel in found:
            facts = rules.Facts(
                inbox_id=conversation.inbox_id,
                channel=channel,
                tags=tags[conversation.id],
                contact_attributes=attributes.get(conversation.contact_id, {}),
                priority=conversation.priority,
            )
            target = rules.route(rule_rows, facts, default_queue_id=default.id)
            if target.queue_id not in account.engine.queue_ids():
                target = rules.route([], facts, default_queue_id=default.id)
            queue = queues.get(target.queue_id, default)
            served = last.get(conversation.contact_id)
            sticky = (
                served[0]
                if served is not None
                and queue.sticky_days > 0
                and served[1] >= self.clock.now() - timedelta(days=queue.sticky_days)
                else None
            )
            item = WorkItem(
                account_id=account_id,
                conversation_id=conversation.id,
                contact_id=conversation.contact_id,
                channel=channel or "api",
                queue_id=target.queue_id,
                priority=loader.PRIORITY_RANK.get(target.priority, 1),
                extra_skills=[
                    {"skill_id": s.skill_id, "min_level": s.min_level} for s in target.extra_skills
                ],
                rule_id=target.rule_id,
                sticky_agent_id=sticky,
                status="waiting",
                transfer_count=0,
                enqueued_at=self.clock.now(),
            )
            session.add(item)
            created.append(item)
        await session.flush()
        # Work entering a closed queue gets the queue's out-of-hours action (after_hours.py).
        by_id = {c.id: c for c, _ in found}
        plans = await after_hours.plan(session, self.clock, account_id, created, queues, by_id)
        for item in created:
            plan = plans.get(item.id)
            data = {"rule_id": item.rule_id, **(plan.queued_data() if plan else {})}
            await work.record(session, self.clock, ev.WORK_QUEUED, item, data)
            if plan is not None and await after_hours.carry_out(
                session, self.clock, item, plan, queues[item.queue_id], by_id[item.conversation_id]
            ):
                continue  # closed with a message: it never waits for an agent
            out.extend(account.engine.enqueue(_engine_item(item), now))

    # Decisions written back ---------------------------------------------------------------

    async def _write(
        self,
        session: AsyncSession,
        account_id: int,
        account: _Account,
        decisions: Sequence[engine.Decision],
    ) -> None:
        item_ids = [d.item_id for d in decisions if hasattr(d, "item_id")]
        items = await repo.items_by_id(session, item_ids)
        offer_rows = [
            account.offer_rows[d.offer_id]
            for d in decisions
            if isinstance(d, engine.OfferTimedOut | engine.OfferWithdrawn)
            and d.offer_id in account.offer_rows
        ]
        offers = await repo.offers_by_id(session, offer_rows, lock=False)
        now = self.clock.now()
        # The round's new offers in one INSERT: their ids go into their events.
        made = {
            d.offer_id: Offer(
                account_id=account_id,
                work_item_id=d.item_id,
                agent_id=d.agent_id,
                status="pending",
                created_at=now,
                expires_at=work.at(d.expires_at),
            )
            for d in decisions
            if isinstance(d, engine.OfferMade)
        }
        if made:
            session.add_all(made.values())
            await session.flush()
        for decision in decisions:
            match decision:
                case engine.OfferMade(offer_id=oid, item_id=iid, agent_id=agent):
                    item, row = items[iid], made[oid]
                    account.offer_rows[oid] = row.id
                    item.status, item.agent_id = "offered", agent
                    await work.record(
                        session,
                        self.clock,
                        ev.OFFER_MADE,
                        item,
                        {
                            "offer_id": row.id,
                            "expires_at": row.expires_at.isoformat(),
                            "channel": item.channel,
                        },
                        agent_id=agent,
                    )
                case engine.Assigned(item_id=iid, agent_id=agent, offer_id=oid):
                    item = items[iid]
                    if oid is not None:
                        self._forget_offer(account, oid)
                    if item.status != "assigned":  # an accepted offer was written by the agent
                        item.status, item.agent_id, item.assigned_at = "assigned", agent, now
                        await work.assign_conversation(session, self.clock, item, agent)
                case engine.OfferDeclined(offer_id=oid):
                    self._forget_offer(account, oid)
                case engine.OfferTimedOut(offer_id=oid, item_id=iid, agent_id=agent):
                    await self._close_offer(
                        session, account, offers, oid, items[iid], agent, "timed_out", None
                    )
                case engine.OfferWithdrawn(offer_id=oid, item_id=iid, agent_id=agent, reason=why):
                    await self._close_offer(
                        session, account, offers, oid, items[iid], agent, "withdrawn", why
                    )
                case engine.Requeued(item_id=iid, reason=why):
                    item = items[iid]
                    was_assigned = item.status == "assigned"
                    item.status, item.agent_id = "waiting", None
                    if was_assigned:
                        await work.assign_conversation(session, self.clock, item, None)
                    await work.record(session, self.clock, ev.WORK_REQUEUED, item, {"reason": why})
                case engine.Overflowed(item_id=iid, step_index=step):
                    await work.record(
                        session, self.clock, ev.WORK_OVERFLOWED, items[iid], {"step": step}
                    )
                case engine.PresenceChanged(agent_id=agent, presence=presence, reason=why):
                    await routing.change_presence(
                        session, self.clock, account_id, agent, presence, why, actor_user_id=None
                    )
                case engine.WrapUpEnded(agent_id=agent):
                    after = account.engine.presence(agent)
                    await routing.change_presence(
                        session, self.clock, account_id, agent, after, None, actor_user_id=None
                    )
                case engine.Transferred(item_id=iid, to_queue_id=queue, transfer_count=count):
                    item = items[iid]
                    item.transfer_count = count
                    if queue is not None:
                        item.queue_id = queue
                case engine.Abandoned() | engine.Completed():
                    pass  # written where the work ended (``_end_elsewhere``)

    async def _close_offer(
        self,
        session: AsyncSession,
        account: _Account,
        offers: dict[int, Offer],
        offer_id: int,
        item: WorkItem,
        agent: int,
        status: str,
        reason: str | None,
    ) -> None:
        row = offers.get(account.offer_rows.get(offer_id, -1))
        self._forget_offer(account, offer_id)
        if row is None or row.status != "pending":
            return
        row.status, row.reason, row.decided_at = status, reason, self.clock.now()
        if item.status == "offered":
            item.status, item.agent_id = "waiting", None
        kind = ev.OFFER_TIMED_OUT if status == "timed_out" else ev.OFFER_WITHDRAWN
        await work.record(
            session, self.clock, kind, item, {"offer_id": row.id, "reason": reason}, agent_id=agent
        )

    @staticmethod
    def _forget_offer(account: _Account, offer_id: int) -> None:
        account.offer_rows.pop(offer_id, None)


def _engine_item(item: WorkItem) -> engine.WorkItem:
    return engine.WorkItem(
        item_id=item.id,
        conversation_id=item.conversation_id,
        contact_id=item.contact_id,
        channel=item.channel,
        queue_id=item.queue_id,
        priority=item.priority,
        enqueued_at=item.enqueued_at.timestamp(),
        extra_skills=loader.levels(item.extra_skills),
        sticky_agent_id=item.sticky_agent_id,
    )
