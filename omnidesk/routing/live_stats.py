"""Live statistics on the event stream: the wallboard without polling.

The router leading an account computes, every ``routing.live_stats_s`` (its clock), the body
``GET /api/v1/routing/stats`` gives without parameters (the last 24 hours, a 20 s
threshold), and — when it changed since the last one sent — hands it, once the round has
committed, to the realtime hub as an ephemeral ``routing.stats`` message for the account's
supervisors and admins: sent live to their websockets, never stored in the event log, never
replayed. One computation per account and period however many server processes there are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.kit.db import after_commit
from omnidesk.routing import stats
from omnidesk.settings import RoutingSettings

if TYPE_CHECKING:
    from omnidesk.routing.router import RouterRuntime

log = structlog.get_logger(__name__)

#: The websocket message's type.
MESSAGE_TYPE = "routing.stats"
#: Who receives it (an event audience: supervisors and admins).
AUDIENCE = "supervisors"
#: As ``GET /routing/stats`` without parameters.
WINDOW = timedelta(days=1)
THRESHOLD_S = 20.0
#: Fields that move with the clock alone: a change of theirs is no news.
_CLOCK_FIELDS = ("at", "since")

#: ``publish(account_id, audience, message)``: hands an ephemeral message to the realtime hub.
Publish = Callable[[int, str, dict[str, Any]], None]


@dataclass
class _Feed:
    publish: Publish
    every_s: float
    #: When each account's statistics were last computed (the router's clock).
    computed: dict[int, datetime] = field(default_factory=dict)
    #: What was last sent per account, without the clock fields.
    sent: dict[int, dict[str, Any]] = field(default_factory=dict)


_feeds: WeakKeyDictionary[RouterRuntime, _Feed] = WeakKeyDictionary()


def attach(router: RouterRuntime, settings: RoutingSettings, publish: Publish) -> None:
    """Send the statistics of the accounts ``router`` leads through ``publish`` (a router
    not attached sends none)."""
    _feeds[router] = _Feed(publish, settings.live_stats_s)


async def publish_live_stats(router: RouterRuntime, session: AsyncSession, account_id: int) -> None:
    """At the end of an account's round: the statistics, if due and changed, after commit."""
    feed = _feeds.get(router)
    if feed is None:
        return
    now = router.clock.now()
    computed = feed.computed.get(account_id)
    if computed is not None and (now - computed).total_seconds() < feed.every_s:
        return
    feed.computed[account_id] = now
    await session.flush()  # the round's own decisions: their errors are the router's
    try:
        # A savepoint: figures that cannot be computed must not undo the round's routing.
        async with session.begin_nested():
            live = await stats.live(session, router.clock, account_id, now - WINDOW, THRESHOLD_S)
    except Exception:
        log.exception("live_stats_failed", account_id=account_id)
        return
    body = live.model_dump(mode="json")
    news = {key: value for key, value in body.items() if key not in _CLOCK_FIELDS}
    if feed.sent.get(account_id) == news:
        return

    async def send() -> None:
        # Only once committed: the figures include the round's own decisions.
        feed.sent[account_id] = news
        feed.publish(account_id, AUDIENCE, {"type": MESSAGE_TYPE, "stats": body})

    after_commit(session, send)
