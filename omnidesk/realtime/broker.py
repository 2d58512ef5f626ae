"""The broker: fans committed events out to every process that has a subscriber for the account.

One interface, two backends (``backends/memory.py`` embedded, ``backends/redis.py`` for
scale-out), held to the same contract by ``tests/realtime/test_broker_contract.py``.

A broker is lossy by design: the event log is the source of truth. A subscriber that falls
behind, or whose backend lost its connection, is closed with a reason instead of silently
missing events; its owner resumes from the last event id it handled.

Besides events, a broker carries **ephemeral messages** (:func:`ephemeral`): dicts without
an ``id``, with an event's ``audience`` to say who may see them and the websocket frame to
send as is. They are not in the event log, so nobody gets them on resuming: live figures
(``routing.stats``) that the next one replaces.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Literal, Protocol

#: Events a subscriber may have waiting before it counts as fallen behind.
DEFAULT_MAX_PENDING = 1000

CloseReason = Literal["closed", "overflowed", "broker_lost"]
EventDict = dict[str, Any]


def ephemeral(audience: str, message: dict[str, Any]) -> EventDict:
    """A live-only message for the subscribers allowed to see an event of ``audience``."""
    return {"audience": audience, "message": message}


class BrokerUnavailable(Exception):
    """The broker cannot take a subscription now (for instance Redis is unreachable)."""


class Subscription:
    """Events of one account, in publishing order, until closed.

    Delivery never blocks the publisher: events wait in a bounded buffer, and a subscriber
    whose buffer is full is closed as ``overflowed``. Treat the event dicts as read-only:
    every subscriber of a process receives the same objects.
    """

    def __init__(
        self,
        account_id: int,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        on_close: Callable[[Subscription], None] | None = None,
    ) -> None:
        self.account_id = account_id
        self.max_pending = max_pending
        self.closed_reason: CloseReason | None = None
        self._pending: deque[EventDict] = deque()
        self._wakeup = asyncio.Event()
        self._on_close = on_close

    @property
    def closed(self) -> bool:
        return self.closed_reason is not None

    @property
    def overflowed(self) -> bool:
        return self.closed_reason == "overflowed"

    @property
    def interrupted(self) -> bool:
        """Closed by the broker, not by its owner: events may have been missed since."""
        return self.closed_reason in ("overflowed", "broker_lost")

    def deliver(self, event: EventDict) -> None:
        """Called by a backend; never blocks."""
        if self.closed:
            return
        if len(self._pending) >= self.max_pending:
            self.close("overflowed")
            return
        self._pending.append(event)
        self._wakeup.set()

    def drain(self) -> list[EventDict]:
        """Take every event waiting in the buffer now, without waiting for more."""
        events = list(self._pending)
        self._pending.clear()
        return events

    def close(self, reason: CloseReason = "closed") -> None:
        """Stop delivery; idempotent. Buffered events are dropped: the owner resumes anyway."""
        if self.closed:
            return
        self.closed_reason = reason
        self._pending.clear()
        self._wakeup.set()
        if self._on_close is not None:
            self._on_close(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> EventDict:
        while not self._pending:
            if self.closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._pending.popleft()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Broker(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Close every subscription (reason ``closed``) and release connections."""

    async def publish(self, account_id: int, event: EventDict) -> None:
        """Send a JSON-serialisable event to the account's subscribers in every process."""

    async def publish_many(self, account_id: int, events: Sequence[EventDict]) -> None:
        """:meth:`publish` each event, in order, as one message to the other processes."""

    async def subscribe(self, account_id: int) -> Subscription:
        """Return once every event published from now on will reach the subscription.

        Raises :class:`BrokerUnavailable` when that cannot be promised.
        """

    def subscriber_count(self, account_id: int) -> int:
        """Open subscriptions of this process for the account."""
