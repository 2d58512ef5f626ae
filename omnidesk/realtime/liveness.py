"""Signs of life: the users with a websocket open in this process, written where the router
can see them wherever it runs (``AgentState.last_seen_at``, see ``routing/liveness.py``).

Every ``routing.heartbeat_s``, one UPDATE for every user with a socket here; and soon after
sockets open, one UPDATE for the users who just connected (openings that come together share
it), so that an agent who reconnects within the grace is seen at once. Nothing per message,
nothing per socket and period.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import structlog

from omnidesk.kit.clock import Clock
from omnidesk.kit.db import Database
from omnidesk.realtime.cancel import cancel_and_wait
from omnidesk.routing import liveness

log = structlog.get_logger(__name__)


class SignsOfLife:
    def __init__(self, db: Database, clock: Clock, *, every_s: float) -> None:
        self.db = db
        self.clock = clock
        self.every_s = every_s
        self._open: Counter[int] = Counter()  # user id → their sockets open here
        self._fresh: set[int] = set()  # connected since the last refresh
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: Refreshes written so far (tests wait on it instead of sleeping).
        self.refreshes = 0

    @property
    def user_ids(self) -> frozenset[int]:
        """The users with at least one socket open here."""
        return frozenset(self._open)

    def opened(self, user_id: int) -> None:
        self._open[user_id] += 1
        self._fresh.add(user_id)
        self._woken.set()

    def closed(self, user_id: int) -> None:
        self._open[user_id] -= 1
        if self._open[user_id] <= 0:
            del self._open[user_id]

    async def start(self) -> None:
        self._woken = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="realtime-signs-of-life")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.every_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), max(0.0, due - loop.time()))
            self._woken.clear()
            if loop.time() >= due:
                due = loop.time() + self.every_s
                users = set(self._open)
            else:
                users = set(self._fresh)
            self._fresh.clear()
            if not users:
                continue
            try:
                async with self.db.transaction() as session:
                    await liveness.seen(session, self.clock.now(), users)
            except Exception:  # the database is away: the next period tries again
                log.exception("signs_of_life_failed", users=len(users))
                continue
            self.refreshes += 1
