"""What only the Redis broker has: several processes, a connection that can drop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from omnidesk.realtime.backends import RedisBroker
from omnidesk.realtime.broker import BrokerUnavailable
from tests.realtime.conftest import TIMEOUT_S


@pytest.fixture
def prefix() -> str:
    return f"omnidesk-test-{uuid.uuid4().hex}:"


@pytest.fixture
async def brokers(redis_url: str, prefix: str) -> AsyncIterator[list[RedisBroker]]:
    """Two brokers on one Redis, as two `omnidesk serve` processes would have."""
    started = [RedisBroker(redis_url, key_prefix=prefix) for _ in range(2)]
    for broker in started:
        await broker.start()
    yield started
    for broker in started:
        await broker.stop()


async def test_events_reach_subscribers_of_other_processes(brokers: list[RedisBroker]) -> None:
    publisher, listener = brokers
    async with await listener.subscribe(1) as subscription:
        await publisher.publish(1, {"id": 1})
        async with asyncio.timeout(TIMEOUT_S):
            assert await anext(subscription) == {"id": 1}


async def test_a_lost_connection_closes_subscriptions_then_reconnects(
    brokers: list[RedisBroker], redis_url: str
) -> None:
    broker = brokers[0]
    before = await broker.subscribe(1)
    admin = Redis.from_url(redis_url)
    try:
        clients = await admin.client_list()
        [listener] = [c["id"] for c in clients if c["name"] == broker.listener_name]
        await admin.client_kill_filter(_id=listener)
    finally:
        await admin.aclose()
    async with asyncio.timeout(TIMEOUT_S):
        assert [event async for event in before] == []  # ends: events may have been missed
    assert before.closed_reason == "broker_lost"
    assert before.interrupted
    async with await broker.subscribe(1) as after:  # waits for the reconnection
        await broker.publish(1, {"id": 2})
        async with asyncio.timeout(TIMEOUT_S):
            assert await anext(after) == {"id": 2}


async def test_subscribing_while_redis_is_unreachable_fails(prefix: str) -> None:
    broker = RedisBroker("redis://127.0.0.1:1/0", key_prefix=prefix, subscribe_timeout_s=0.2)
    await broker.start()
    try:
        with pytest.raises(BrokerUnavailable):
            await broker.subscribe(1)
        assert broker.subscriber_count(1) == 0
    finally:
        await broker.stop()


async def test_a_malformed_message_on_the_channel_is_skipped(
    brokers: list[RedisBroker], redis_url: str
) -> None:
    broker = brokers[0]
    async with await broker.subscribe(1) as subscription:
        admin = Redis.from_url(redis_url)
        try:
            for junk in ("not json", '{"id": 1}', '[{"id": 2}, 3]'):
                await admin.publish(broker.channel(1), junk)
        finally:
            await admin.aclose()
        await broker.publish_many(1, [{"id": 4}, {"id": 5}])
        async with asyncio.timeout(TIMEOUT_S):
            assert [await anext(subscription) for _ in range(2)] == [{"id": 4}, {"id": 5}]
        assert not subscription.closed
