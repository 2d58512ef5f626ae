"""The fan-out: the broker's events to this process's agent websockets, each to whom it concerns.

One broker subscription per account per process, taken when the account's first connection
joins and closed when its last one leaves. One dispatcher task per account reads it and
hands each event only to the connections entitled to see it, found through an index by
user, team and role: an event costs O(entitled connections), not O(open sockets).

Each connection has its own :class:`Subscription`, a bounded buffer that never blocks the
dispatcher; one that fills up is closed as ``overflowed`` (its socket resumes). When the
account's broker subscription is interrupted (``overflowed``, ``broker_lost``), events may
have been missed: every connection on it is closed with the same reason, and the next one to
join takes a fresh broker subscription.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from omnidesk.accounts.principal import Principal
from omnidesk.realtime.broker import (
    DEFAULT_MAX_PENDING,
    Broker,
    BrokerUnavailable,
    CloseReason,
    EventDict,
    Subscription,
)
from omnidesk.realtime.cancel import cancel_and_wait
from omnidesk.realtime.index import ConnectionIndex

log = structlog.get_logger(__name__)


class Fanout:
    def __init__(self, broker: Broker, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.broker = broker
        #: Events a connection may have waiting before it counts as fallen behind.
        self.max_pending = max_pending
        self._feeds: dict[int, AccountFeed] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def join(self, principal: Principal) -> Subscription:
        """The events ``principal`` may see, from now on: returns once the account's broker
        subscription is live, so that the event log can be read next without a gap.

        Raises :class:`BrokerUnavailable` when the broker cannot promise that.
        """
        feed = self._feeds.get(principal.account_id)
        if feed is not None:
            feed.catch_up()  # events already waiting were published before this connection
        if feed is None or not feed.live:
            feed = self._feeds[principal.account_id] = AccountFeed(
                principal.account_id, self.broker, on_end=self._forget
            )
            self._tasks.add(feed.task)
            feed.task.add_done_callback(self._tasks.discard)
        connection = feed.add(principal, max_pending=self.max_pending)
        try:
            await feed.opened()
        except BaseException:
            connection.close()
            raise
        return connection

    def connection_count(self, account_id: int) -> int:
        feed = self._feeds.get(account_id)
        return 0 if feed is None else len(feed.index)

    async def stop(self) -> None:
        """Close every connection (reason ``closed``) and wait for the dispatchers to end."""
        for feed in list(self._feeds.values()):
            feed.end("closed")
        await cancel_and_wait(*self._tasks)

    def _forget(self, feed: AccountFeed) -> None:
        if self._feeds.get(feed.account_id) is feed:
            del self._feeds[feed.account_id]


class AccountFeed:
    """One account's broker subscription, shared by the account's connections here."""

    def __init__(
        self, account_id: int, broker: Broker, *, on_end: Callable[[AccountFeed], None]
    ) -> None:
        self.account_id = account_id
        self.index = ConnectionIndex()
        self.ended = False
        self._broker = broker
        self._on_end = on_end
        self._source: Subscription | None = None  # set once the broker subscription is live
        self._opened = asyncio.Event()  # live, or ended without ever being live
        self.task = asyncio.create_task(self._run(), name=f"realtime-fanout-{account_id}")

    @property
    def live(self) -> bool:
        """Not ended, and its broker subscription (if taken yet) not closed."""
        return not self.ended and (self._source is None or not self._source.closed)

    async def opened(self) -> None:
        await self._opened.wait()
        if self._source is None:
            raise BrokerUnavailable("the account's events could not be subscribed to")

    def add(self, principal: Principal, *, max_pending: int) -> Subscription:
        connection = Subscription(self.account_id, max_pending=max_pending, on_close=self._remove)
        self.index.add(connection, principal)
        return connection

    def catch_up(self) -> None:
        """Dispatch the events waiting on the broker subscription, right now."""
        if self._source is not None:
            for event in self._source.drain():
                self._dispatch(event)

    def end(self, reason: CloseReason) -> None:
        """Release the broker subscription and close every connection with ``reason``."""
        if self.ended:
            return
        self.ended = True
        self._on_end(self)
        self._opened.set()
        if self._source is not None:
            self._source.close()  # keeps the broker's reason if it closed it; the loop ends
        elif self.task is not asyncio.current_task():
            self.task.cancel()  # still subscribing
        for connection in self.index:
            connection.close(reason)

    def _remove(self, connection: Subscription) -> None:
        self.index.remove(connection)
        if not self.index:
            self.end("closed")  # the last one left

    def _dispatch(self, event: EventDict) -> None:
        for connection in self.index.entitled(event):
            connection.deliver(event)  # never blocks; closes (and removes) one fallen behind

    async def _run(self) -> None:
        reason: CloseReason = "broker_lost"  # unless the broker subscription ends normally
        try:
            try:
                source = await self._broker.subscribe(self.account_id)
            except BrokerUnavailable:
                return
            except Exception:
                log.exception("fanout_subscribe_failed", account_id=self.account_id)
                return
            if self.ended:  # every connection left meanwhile
                source.close()
                return
            self._source = source
            self._opened.set()
            async for event in source:
                self._dispatch(event)
            reason = source.closed_reason or "closed"
        except Exception:
            log.exception("fanout_failed", account_id=self.account_id)
        finally:
            self.end(reason)
