"""Group commit for customers' messages: what arrives while one batch commits goes in the next.

Channel endpoints hand each message to :class:`InboundWriter` and wait for its outcome. One
task stores everything queued meanwhile with :func:`service.receive_inbound_many` in one
transaction, so a transaction and each of its queries are shared by the batch instead of
paid per message (see docs/adr/0007-inbound-group-commit.md). A caller still gets its answer
only once its message is committed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence

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

_Entry = tuple[InboundItem, "asyncio.Future[Outcome]"]


class InboundWriter:
    def __init__(
        self, db: Database, clock: Clock, storage: Storage, *, max_batch: int = MAX_BATCH
    ) -> None:
        self.db = db
        self.clock = clock
        self.storage = storage
        self.max_batch = max_batch
        self._queue: deque[_Entry] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def start(self) -> None:
        self._closing = False
        self._wakeup = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="inbound-writer")

    async def stop(self) -> None:
        """Store what is queued (for a bounded time), then stop."""
        if self._task is None:
            return
        self._closing = True
        self._wakeup.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_TIMEOUT_S)
        except TimeoutError:
            log.error("inbound_writer_stop_timeout", queued=len(self._queue))
            self._task.cancel()
        self._task = None
        self._fail_queued()

    async def receive(self, item: InboundItem) -> ReceiveResult:
        """Store one message (once) and return it, or raise the error that refused it."""
        if self._task is None or self._closing:
            raise ServiceUnavailable("the server is stopping: retry")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
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
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch))]
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(ServiceUnavailable("the server is stopping: retry"))
                raise

    async def _write(self, batch: Sequence[_Entry]) -> None:
        try:
            async with self.db.transaction() as session:
                outcomes = await receive_inbound_many(
                    session, self.clock, [item for item, _ in batch], storage=self.storage
                )
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
