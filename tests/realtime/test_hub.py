from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from omnidesk.events.models import Event
from omnidesk.realtime.backends import MemoryBroker
from omnidesk.realtime.broker import EventDict
from omnidesk.realtime.hub import Hub
from tests.realtime.conftest import TIMEOUT_S


def event(event_id: int, account_id: int = 1) -> Event:
    return Event(
        id=event_id,
        account_id=account_id,
        type="test.happened",
        audience="account",
        data={"n": event_id},
        created_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    )


class FlakyBroker(MemoryBroker):
    """Fails to publish the message that holds one event id, as Redis might."""

    def __init__(self, failing_id: int) -> None:
        super().__init__()
        self.failing_id = failing_id
        self.failed = asyncio.Event()

    async def publish_many(self, account_id: int, events: Sequence[EventDict]) -> None:
        if any(e["id"] == self.failing_id for e in events):
            self.failed.set()
            raise ConnectionError("broker down")
        await super().publish_many(account_id, events)


async def test_events_are_published_in_the_order_they_were_committed() -> None:
    broker = MemoryBroker()
    hub = Hub(broker)
    await hub.start()
    try:
        async with await broker.subscribe(1) as subscription:
            await hub.publish_events([event(1), event(2)])
            await hub.publish_events([event(3)])
            async with asyncio.timeout(TIMEOUT_S):
                received = [await anext(subscription) for _ in range(3)]
    finally:
        await hub.stop()
    assert [e["id"] for e in received] == [1, 2, 3]
    assert received[0]["created_at"] == "2026-01-05T09:00:00Z"
    assert received[0]["data"] == {"n": 1}


async def test_a_failed_publish_does_not_hold_up_the_next_events() -> None:
    broker = FlakyBroker(failing_id=2)
    hub = Hub(broker)
    await hub.start()
    try:
        async with await broker.subscribe(1) as subscription:
            await hub.publish_events([event(1), event(2)])
            async with asyncio.timeout(TIMEOUT_S):
                await broker.failed.wait()
            await hub.publish_events([event(3), event(4)])
            async with asyncio.timeout(TIMEOUT_S):
                received = [await anext(subscription) for _ in range(2)]
    finally:
        await hub.stop()
    # The events of the failed message are in the event log, where resuming clients read.
    assert [e["id"] for e in received] == [3, 4]


async def test_what_committed_meanwhile_is_published_together_in_order() -> None:
    broker = MemoryBroker()
    sent: list[list[int]] = []
    publish_many = broker.publish_many

    async def recording(account_id: int, events: Sequence[EventDict]) -> None:
        sent.append([e["id"] for e in events])
        await publish_many(account_id, events)

    broker.publish_many = recording  # type: ignore[method-assign]
    hub = Hub(broker)
    async with await broker.subscribe(1) as ours, await broker.subscribe(2) as theirs:
        await hub.publish_events([event(1), event(2), event(3, account_id=2), event(4)])
        await hub.start()  # the pump finds all four waiting
        await hub.stop()
        assert [(await anext(ours))["id"] for _ in range(3)] == [1, 2, 4]
        assert (await anext(theirs))["id"] == 3
    # One message per run of one account's events, in commit order.
    assert sent == [[1, 2], [3], [4]]


async def test_stopping_publishes_the_backlog_first() -> None:
    broker = MemoryBroker()
    hub = Hub(broker)
    subscription = await broker.subscribe(1)
    await hub.publish_events([event(1), event(2)])  # queued: the hub is not started yet
    await hub.start()
    await hub.stop()
    async with asyncio.timeout(TIMEOUT_S):  # already delivered: no waiting involved
        assert [(await anext(subscription))["id"] for _ in range(2)] == [1, 2]
    subscription.close()


async def test_an_ephemeral_message_is_published_behind_the_events_committed_before_it() -> None:
    broker = MemoryBroker()
    hub = Hub(broker)
    await hub.start()
    try:
        async with await broker.subscribe(1) as subscription:
            await hub.publish_events([event(1)])
            hub.publish_ephemeral(1, "supervisors", {"type": "routing.stats", "stats": {}})
            await hub.publish_events([event(2)])
            async with asyncio.timeout(TIMEOUT_S):
                received = [await anext(subscription) for _ in range(3)]
    finally:
        await hub.stop()
    assert received[0]["id"] == 1
    assert received[1] == {
        "audience": "supervisors",
        "message": {"type": "routing.stats", "stats": {}},
    }
    assert received[2]["id"] == 2
