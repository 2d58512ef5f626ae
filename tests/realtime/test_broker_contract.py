"""One contract, both brokers: what the hub and the websocket rely on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from omnidesk.realtime.backends import MemoryBroker, RedisBroker
from omnidesk.realtime.broker import Broker, Subscription, ephemeral

TIMEOUT_S = 5.0
MakeBroker = Callable[..., Awaitable[Broker]]


@pytest.fixture(params=["memory", "redis"])
async def make_broker(request: pytest.FixtureRequest) -> AsyncIterator[MakeBroker]:
    redis_url: str | None = (
        request.getfixturevalue("redis_url") if request.param == "redis" else None
    )
    prefix = f"omnidesk-test-{uuid.uuid4().hex}:"
    started: list[Broker] = []

    async def make(*, max_pending: int = 1000) -> Broker:
        broker: Broker
        if redis_url:
            broker = RedisBroker(redis_url, key_prefix=prefix, max_pending=max_pending)
        else:
            broker = MemoryBroker(max_pending=max_pending)
        await broker.start()
        started.append(broker)
        return broker

    yield make
    for broker in started:
        await broker.stop()


@pytest.fixture
async def broker(make_broker: MakeBroker) -> Broker:
    return await make_broker()


async def take(subscription: Subscription, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(TIMEOUT_S):
        return [await anext(subscription) for _ in range(count)]


async def test_order_is_preserved_per_publisher(broker: Broker) -> None:
    async with await broker.subscribe(1) as subscription:
        for i in range(200):
            await broker.publish(1, {"id": i})
        assert [e["id"] for e in await take(subscription, 200)] == list(range(200))


async def test_a_batch_arrives_whole_and_in_order_between_single_events(broker: Broker) -> None:
    async with await broker.subscribe(1) as subscription:
        await broker.publish(1, {"id": 0})
        await broker.publish_many(1, [{"id": i} for i in range(1, 50)])
        await broker.publish_many(1, [])
        await broker.publish(1, {"id": 50})
        assert [e["id"] for e in await take(subscription, 51)] == list(range(51))


async def test_every_subscriber_of_the_account_receives_every_event(broker: Broker) -> None:
    subscriptions = [await broker.subscribe(1) for _ in range(3)]
    assert broker.subscriber_count(1) == 3
    for i in range(5):
        await broker.publish(1, {"id": i})
    for subscription in subscriptions:
        assert [e["id"] for e in await take(subscription, 5)] == [0, 1, 2, 3, 4]
        subscription.close()


async def test_accounts_are_isolated(broker: Broker) -> None:
    ours, theirs = await broker.subscribe(1), await broker.subscribe(2)
    await broker.publish(1, {"id": 1, "type": "for account 1"})
    await broker.publish(2, {"id": 2, "type": "for account 2"})
    # Had account 1's event leaked, it would come first: publishing order is kept.
    assert await take(theirs, 1) == [{"id": 2, "type": "for account 2"}]
    assert await take(ours, 1) == [{"id": 1, "type": "for account 1"}]
    assert broker.subscriber_count(3) == 0
    ours.close()
    theirs.close()


async def test_a_closed_subscription_receives_nothing_more(broker: Broker) -> None:
    leaving, staying = await broker.subscribe(1), await broker.subscribe(1)
    leaving.close()
    await broker.publish(1, {"id": 1})
    assert await take(staying, 1) == [{"id": 1}]
    assert [event async for event in leaving] == []
    assert leaving.closed_reason == "closed"
    assert not leaving.interrupted
    assert broker.subscriber_count(1) == 1
    staying.close()
    assert broker.subscriber_count(1) == 0


async def test_a_slow_subscriber_is_closed_without_blocking_others(
    make_broker: MakeBroker,
) -> None:
    broker = await make_broker(max_pending=5)
    slow, fast = await broker.subscribe(1), await broker.subscribe(1)
    for i in range(20):
        await broker.publish(1, {"id": i})  # returns although `slow` reads nothing
        assert await take(fast, 1) == [{"id": i}]
    assert slow.overflowed
    assert slow.interrupted
    assert [event async for event in slow] == []
    assert broker.subscriber_count(1) == 1
    await broker.publish(1, {"id": 20})
    assert await take(fast, 1) == [{"id": 20}]
    fast.close()


async def test_a_large_payload_round_trips(broker: Broker) -> None:
    event = {
        "id": 7,
        "type": "message.received",
        "data": {"body": "é€😀 " * 250_000, "parts": [{"n": i} for i in range(1000)]},
    }
    async with await broker.subscribe(1) as subscription:
        await broker.publish(1, event)
        assert await take(subscription, 1) == [event]


async def test_subscribing_again_right_after_leaving_misses_nothing(broker: Broker) -> None:
    # On Redis this races UNSUBSCRIBE against the next SUBSCRIBE of the same channel.
    for i in range(20):
        (await broker.subscribe(1)).close()
        async with await broker.subscribe(1) as subscription:
            await broker.publish(1, {"id": i})
            assert await take(subscription, 1) == [{"id": i}]


async def test_stopping_closes_subscriptions(make_broker: MakeBroker) -> None:
    broker = await make_broker()
    subscription = await broker.subscribe(1)
    await broker.stop()
    assert [event async for event in subscription] == []
    assert subscription.closed_reason == "closed"


async def test_an_ephemeral_message_travels_in_order_with_the_events(broker: Broker) -> None:
    # No id: the websocket tells it from an event by that, and sends its frame as is.
    stats = ephemeral("supervisors", {"type": "routing.stats", "stats": {"queues": [], "n": 1.5}})
    async with await broker.subscribe(1) as subscription:
        await broker.publish_many(1, [{"id": 1}, stats, {"id": 2}])
        assert await take(subscription, 3) == [{"id": 1}, stats, {"id": 2}]
    assert "id" not in stats
