"""The hub: the event sink that hands committed events to the broker, the fan-out of the
broker's events to this process's sockets, and the socket count."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from itertools import groupby
from operator import itemgetter

import structlog
from prometheus_client import Gauge

from omnidesk.events.models import Event
from omnidesk.events.schemas import EventOut
from omnidesk.realtime.broker import Broker, EventDict
from omnidesk.realtime.cancel import cancel_and_wait
from omnidesk.realtime.fanout import Fanout

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
    def __init__(self, broker: Broker, *, max_backlog: int = MAX_BACKLOG) -> None:
        self.broker = broker
        self.fanout = Fanout(broker)
        #: Agent websockets open on this hub (the gauge sums every hub of the process).
        self.connections = 0
        self._backlog: asyncio.Queue[tuple[int, EventDict]] = asyncio.Queue(max_backlog)
        self._pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._pump = asyncio.create_task(self._publish_backlog(), name="realtime-hub")

    async def stop(self) -> None:
        """Publish what is queued (for a bounded time), then close the sockets' feeds."""
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
                    ids = [p.get("id") for p in payloads]
                    log.exception("event_publish_failed", event_ids=ids)
            for _ in queued:
                self._backlog.task_done()

    def connected(self) -> None:
        self.connections += 1
        WS_CONNECTIONS.inc()

    def disconnected(self) -> None:
        self.connections -= 1
        WS_CONNECTIONS.dec()
