"""Group commit for customers' messages: what arrives while one batch commits goes in the next.

Channel endpoints hand each message to :class:`InboundWriter` and wait for its outcome. The
writer stores everything queued meanwhile with :func:`service.receive_inbound_many` in one
transaction, so a transaction and each of its queries are shared by the batch instead of
paid per message (see docs/adr/0007-inbound-group-commit.md). A caller still gets its answer
only once its message is committed.

The transactions run on a thread of their own, with an event loop and a database engine of
their own: their many awaits do not wait for turns of the busy main loop, and on SQLite the
driver runs inline there (``kit/sqlite_inline.py``) instead of hopping to a driver thread
four times per statement. Committed events and after-commit work are handed back to the main
loop's database, in commit order.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import structlog
from prometheus_client import Histogram

from omnidesk.conversations.service import (
    InboundItem,
    Outcome,
    ReceiveResult,
    receive_inbound_many,
)
from omnidesk.kit.clock import Clock
from omnidesk.kit.db import Database
from omnidesk.kit.errors import OmnideskError, ServiceUnavailable
from omnidesk.kit.storage import Storage

log = structlog.get_logger(__name__)

BATCH_SIZE = Histogram(
    "omnidesk_inbound_batch_size",
    "Customers' messages stored per transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200),
)
#: Messages per transaction at most: a bigger backlog is written in several.
MAX_BATCH = 200
STOP_TIMEOUT_S = 10.0
#: How long the writer waits for more messages before writing a batch, when they come fast.
LINGER_S = 0.010
#: Weight of the newest gap between two messages in the running mean of those gaps.
GAP_WEIGHT = 0.1

_Entry = tuple[InboundItem, "asyncio.Future[Outcome]"]
_T = TypeVar("_T")


class _WriterThread:
    """A thread running an event loop, with its own engine on the main database's URL."""

    def __init__(self, main: Database) -> None:
        self.main = main
        self.loop: asyncio.AbstractEventLoop | None = None
        self.db: Database | None = None
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        main_loop = asyncio.get_running_loop()
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self.loop = loop
            self.db = Database(self.main.url, inline=self.main.is_sqlite)
            self.db.announce_to(self.main, main_loop)
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=serve, name="inbound-writer", daemon=True)
        self._thread.start()
        await asyncio.to_thread(ready.wait)

    async def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        assert self.loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    async def stop(self) -> None:
        if self._thread is None or self.loop is None or self.db is None:
            return
        await self.run(self.db.dispose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self._thread.join)
        self._thread = None


class InboundWriter:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        storage: Storage,
        *,
        max_batch: int = MAX_BATCH,
        concurrency: int = 1,
        linger_s: float = LINGER_S,
    ) -> None:
        #: Batches written at once. SQLite has one writer whatever we do; PostgreSQL takes
        #: several, serialised per contact by the row locks (taken in id order).
        self.concurrency = concurrency
        self.linger_s = linger_s
        self.clock = clock
        self.storage = storage
        self.max_batch = max_batch
        self._queue: deque[_Entry] = deque()
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._thread = _WriterThread(db)
        #: Running mean of the time between two messages, and when the last one came.
        self._mean_gap_s = float("inf")
        self._last_arrival: float | None = None

    async def start(self) -> None:
        await self._thread.start()
        self._closing = False
        self._wakeup = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._run(), name=f"inbound-writer-{n}")
            for n in range(self.concurrency)
        ]

    async def stop(self) -> None:
        """Store what is queued (for a bounded time), then stop."""
        if not self._tasks:
            return
        self._closing = True
        self._wakeup.set()
        _, late = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S)
        if late:
            log.error("inbound_writer_stop_timeout", queued=len(self._queue))
            for task in late:
                task.cancel()
            await asyncio.wait(late)
        self._tasks = []
        self._fail_queued()
        await self._thread.stop()

    async def receive(self, item: InboundItem) -> ReceiveResult:
        """Store one message (once) and return it, or raise the error that refused it."""
        if not self._tasks or self._closing:
            raise ServiceUnavailable("the server is stopping: retry")
        loop = asyncio.get_running_loop()
        self._note_arrival(loop.time())
        future: asyncio.Future[Outcome] = loop.create_future()
        self._queue.append((item, future))
        self._wakeup.set()
        # A caller that goes away does not take its message with it: the writer holds the
        # item, not the caller, and stores it anyway.
        outcome = await future
        if isinstance(outcome, OmnideskError):
            raise outcome
        return outcome

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    self._wakeup.set()  # the other writers stop too
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if self._should_linger():
                # A few milliseconds' wait fills the batch: otherwise, under moderate load,
                # the writer takes every message alone as soon as it comes and spends its
                # CPU (and the loop's GIL) on the fixed cost of a transaction per message.
                await asyncio.sleep(self.linger_s)
                if not self._queue:
                    continue  # another writer took them meanwhile
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch))]
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(ServiceUnavailable("the server is stopping: retry"))
                raise

    def _note_arrival(self, now: float) -> None:
        if self._last_arrival is not None:
            gap = now - self._last_arrival
            if self._mean_gap_s == float("inf"):
                self._mean_gap_s = gap
            else:
                self._mean_gap_s += GAP_WEIGHT * (gap - self._mean_gap_s)
        self._last_arrival = now

    def _should_linger(self) -> bool:
        """Only when more messages are expected within the wait: alone, a message goes now."""
        return (
            self.linger_s > 0
            and not self._closing
            and len(self._queue) < self.max_batch
            and self._mean_gap_s < self.linger_s
        )

    async def _write(self, batch: Sequence[_Entry]) -> None:
        try:
            outcomes = await self._thread.run(self._store([item for item, _ in batch]))
        except Exception as exc:
            if len(batch) > 1:
                # One message must not fail the others (a provider id raced in by another
                # process, a bad row): each alone, in its own transaction.
                log.warning("inbound_batch_failed", size=len(batch), error=repr(exc))
                for entry in batch:
                    await self._write([entry])
                return
            log.exception("inbound_message_failed")
            _settle(batch[0][1], exc)
            return
        BATCH_SIZE.observe(len(batch))
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)

    async def _store(self, items: list[InboundItem]) -> list[Outcome]:
        """On the writer's thread."""
        assert self._thread.db is not None
        async with self._thread.db.transaction() as session:
            return await receive_inbound_many(session, self.clock, items, storage=self.storage)

    def _fail_queued(self) -> None:
        while self._queue:
            _, future = self._queue.popleft()
            _settle(future, ServiceUnavailable("the server is stopping: retry"))


def _settle(future: asyncio.Future[Outcome], outcome: Outcome | BaseException) -> None:
    if future.done():
        return
    if isinstance(outcome, OmnideskError | ReceiveResult):
        future.set_result(outcome)
    else:
        future.set_exception(outcome)
