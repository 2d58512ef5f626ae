"""Lost connections: an agent whose desktop stops showing signs of life goes offline.

Agents receive their offers over ``/ws``. The sockets live in any server process and the
router may run in another, so liveness is a row: ``AgentState.last_seen_at``. Every server
process refreshes it, in one UPDATE per ``routing.heartbeat_s``, for the users with a socket
open there (:func:`seen`, called by ``realtime/liveness.py``); an agent setting their own
presence through the API is seen too (``service.set_presence``).

Each round, the leading router sets the agents of the account who are not offline and were
last seen longer than ``routing.connection_grace_s`` ago offline, with the reason
``connection_lost`` (:func:`expire_lost_connections`), through ``service.change_presence``:
the engine then withdraws their open offers and routes them to someone else, as for any
agent going offline; work they accepted stays theirs (docs/routing.md, "Presence and lost
connections"). An agent who reconnects within the grace keeps everything. An agent never
seen connected (``last_seen_at`` empty: an integration driving presence through the API) is
not watched.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.kit.db import serialises_writers
from omnidesk.routing import service as routing
from omnidesk.routing.models import AgentState
from omnidesk.settings import RoutingSettings

if TYPE_CHECKING:
    from omnidesk.routing.router import RouterRuntime

log = structlog.get_logger(__name__)

#: The reason recorded with the presence of an agent set offline for a lost connection.
CONNECTION_LOST = "connection_lost"
#: Users refreshed per statement (well under every database's limit of bound parameters).
SEEN_CHUNK = 1000


async def seen(session: AsyncSession, at: datetime, user_ids: Collection[int]) -> None:
    """The agents among ``user_ids`` showed a sign of life ``at``: one UPDATE (per
    thousand users), whatever the number of their sockets."""
    ordered = sorted(user_ids)
    for start in range(0, len(ordered), SEEN_CHUNK):
        await session.execute(
            update(AgentState)
            .where(AgentState.user_id.in_(ordered[start : start + SEEN_CHUNK]))
            .values(last_seen_at=at)
            .execution_options(synchronize_session=False)
        )


@dataclass
class _Watch:
    grace: timedelta
    #: Seconds between two looks at one account: signs of life come no faster.
    every_s: float
    #: When each account was last looked at (the router's clock).
    looked: dict[int, datetime] = field(default_factory=dict)


_watches: WeakKeyDictionary[RouterRuntime, _Watch] = WeakKeyDictionary()


def attach(router: RouterRuntime, settings: RoutingSettings) -> None:
    """Watch with ``settings`` (a router not attached uses the defaults)."""
    _watches[router] = _Watch(timedelta(seconds=settings.connection_grace_s), settings.heartbeat_s)


async def expire_lost_connections(
    router: RouterRuntime, session: AsyncSession, account_id: int
) -> None:
    """Set offline (``connection_lost``) the account's agents unseen for the grace period.

    Looks at most once per heartbeat period per account: one indexed query, not one per
    round. The presence change is an event like any other: committed with the round, it
    wakes the router, whose engine withdraws the agents' offers in the next round.
    """
    watch = _watches.get(router)
    if watch is None:
        defaults = RoutingSettings()
        watch = _watches[router] = _Watch(
            timedelta(seconds=defaults.connection_grace_s), defaults.heartbeat_s
        )
    now = router.clock.now()
    looked = watch.looked.get(account_id)
    if looked is not None and (now - looked).total_seconds() < watch.every_s:
        return
    watch.looked[account_id] = now
    query = select(AgentState).where(
        AgentState.account_id == account_id,
        AgentState.presence != "offline",
        AgentState.last_seen_at < now - watch.grace,  # never seen (NULL): not watched
    )
    if not serialises_writers(session):
        # A sign of life committed meanwhile is seen once the row is locked: the condition
        # is checked again on the latest row, so a refreshed agent is left alone.
        query = query.with_for_update()
    for state in (await session.scalars(query)).all():
        log.info(
            "agent_connection_lost",
            account_id=account_id,
            user_id=state.user_id,
            last_seen_at=state.last_seen_at,
        )
        await routing.change_presence(
            session,
            router.clock,
            account_id,
            state.user_id,
            "offline",
            CONNECTION_LOST,
            actor_user_id=None,
        )
