"""The embedded broker: one process, subscribers in memory."""

from __future__ import annotations

from collections.abc import Sequence

from omnidesk.realtime.broker import DEFAULT_MAX_PENDING, EventDict, Subscription


class MemoryBroker:
    def __init__(self, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.max_pending = max_pending
        self._subscribers: dict[int, set[Subscription]] = {}

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        for subscribers in list(self._subscribers.values()):
            for subscription in list(subscribers):
                subscription.close()

    async def publish(self, account_id: int, event: EventDict) -> None:
        await self.publish_many(account_id, [event])

    async def publish_many(self, account_id: int, events: Sequence[EventDict]) -> None:
        # A copy of the set: an overflowing subscriber removes itself while we iterate.
        for subscription in list(self._subscribers.get(account_id, ())):
            for event in events:
                subscription.deliver(event)

    async def subscribe(self, account_id: int) -> Subscription:
        subscription = Subscription(account_id, max_pending=self.max_pending, on_close=self._forget)
        self._subscribers.setdefault(account_id, set()).add(subscription)
        return subscription

    def subscriber_count(self, account_id: int) -> int:
        return len(self._subscribers.get(account_id, ()))

    def _forget(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.account_id)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._subscribers[subscription.account_id]
