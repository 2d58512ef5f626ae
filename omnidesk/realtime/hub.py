"""The hub: the event sink that hands committed events to the broker, the fan-out of the
broker's events to this process's sockets, the socket count and the signs of life of the
users behind them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

import structlog
from prometheus_client import Gauge

from omnidesk.accounts.principal import Principal
from omnidesk.events.models import Event
from omnidesk.events.schemas import EventOut
from omnidesk.realtime.broker import Broker, EventDict, ephemeral
from omnidesk.realtime.cancel import cancel_and_wait
from omnidesk.realtime.fanout import Fanout
from omnidesk.realtime.liveness import SignsOfLife

log = structlog.get_logger(__name__)

WS_CONNECTIONS = Gauge("omnidesk_ws_connections", "Agent websockets open in this process")
#: Committed events waiting for the broker; beyond this, new ones are dropped (and logged).
MAX_BACKLOG = 10_000
STOP_TIMEOUT_S = 5.0
#: Events the pump takes from the backlog at once (what committed while it last published).
PUBLISH_BATCH = 500


def event_payload(event: Event) -> EventDict:
    """The one wire shape of an event, live or replayed."""
    return EventOut.model_validate(event).model_dump(mode="json")


class Hub:
    def __init__(
        self,
        broker: Broker,
        *,
        max_backlog: int = MAX_BACKLOG,
        signs_of_life: SignsOfLife | None = None,
    ) -> None:
        self.broker = broker
        self.fanout = Fanout(broker)
        #: Agent websockets open on this hub (the gauge sums every hub of the process).
        self.connections = 0
        #: Tells the router which users have a socket open here (None: nobody needs to know).
        self.signs_of_life = signs_of_life
        self._backlog: asyncio.Queue[tuple[int, EventDict]] = asyncio.Queue(max_backlog)
        self._pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._pump = asyncio.create_task(self._publish_backlog(), name="realtime-hub")
        if self.signs_of_life is not None:
            await self.signs_of_life.start()

    async def stop(self) -> None:
        """Publish what is queued (for a bounded time), then close the sockets' feeds."""
        if self.signs_of_life is not None:
            await self.signs_of_life.stop()
        if self._pump is not None:
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await self._backlog.join()
            except TimeoutError:
                log.warning("events_left_unpublished", count=self._backlog.qsize())
            await cancel_and_wait(self._pump)
            self._pump = None
        await self.fanout.stop()

    async def publish_events(self, events: Sequence[Event]) -> None:
        """The unit of work's event sink: runs after each commit, never after a rollback.

        Only queues: the request that committed must not wait on the broker (a Redis outage
        would stall every write). One pump publishes, so the broker sees commit order.
        """
        for event in events:
            try:
                self._backlog.put_nowait((event.account_id, event_payload(event)))
            except asyncio.QueueFull:
                # Committed anyway: subscribers find it in the event log when they resume.
                log.error("event_backlog_full", event_id=event.id, type=event.type)

    def publish_ephemeral(self, account_id: int, audience: str, message: dict[str, Any]) -> None:
        """Send ``message`` live to the account's sockets allowed to see an event of
        ``audience``; it is not stored, so nobody gets it on resuming (``broker.ephemeral``).

        Queued behind the events committed before it, and published by the same pump.
        """
        try:
            self._backlog.put_nowait((account_id, ephemeral(audience, message)))
        except asyncio.QueueFull:
            log.warning("ephemeral_backlog_full", type=message.get("type"))  # the next replaces it

    async def _publish_backlog(self) -> None:
        while True:
            queued = [await self._backlog.get()]
            while len(queued) < PUBLISH_BATCH and not self._backlog.empty():
                queued.append(self._backlog.get_nowait())
            # Consecutive events of one account go as one message, in commit order.
            for account_id, run in groupby(queued, key=itemgetter(0)):
                payloads = [payload for _, payload in run]
                try:
                    await self.broker.publish_many(account_id, payloads)
                except Exception:
                    ids = [p.get("id") for p in payloads]  # None: an ephemeral message
                    log.exception("event_publish_failed", event_ids=ids)
            for _ in queued:
                self._backlog.task_done()

    def connected(self, principal: Principal) -> None:
        self.connections += 1
        WS_CONNECTIONS.inc()
        if self.signs_of_life is not None and principal.user_id is not None:
            self.signs_of_life.opened(principal.user_id)

    def disconnected(self, principal: Principal) -> None:
        self.connections -= 1
        WS_CONNECTIONS.dec()
        if self.signs_of_life is not None and principal.user_id is not None:
            self.signs_of_life.closed(principal.user_id)
