"""The token bucket, in memory and in Redis: the same answers from both."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.errors import RateLimited
from omnidesk.kit.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter

REDIS_URL = os.environ.get("OMNIDESK_TEST_REDIS_URL")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest, clock: FrozenClock) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        made: RateLimiter = MemoryRateLimiter(clock)
    else:
        if not REDIS_URL:
            if os.environ.get("CI") == "true":
                pytest.fail("OMNIDESK_TEST_REDIS_URL is not set")
            pytest.skip("OMNIDESK_TEST_REDIS_URL is not set")
        made = RedisRateLimiter(REDIS_URL, clock, key_prefix=f"test-{uuid.uuid4().hex}:")
    yield made
    await made.close()


async def test_a_burst_up_to_the_limit_then_one_token_per_interval(
    limiter: RateLimiter, clock: FrozenClock
) -> None:
    for _ in range(10):
        await limiter.hit("k", limit=10, per_s=60)
    with pytest.raises(RateLimited) as refused:
        await limiter.hit("k", limit=10, per_s=60)
    assert refused.value.retry_after_s == 6
    clock.advance(5.9)
    with pytest.raises(RateLimited):
        await limiter.hit("k", limit=10, per_s=60)
    clock.advance(0.2)
    await limiter.hit("k", limit=10, per_s=60)


async def test_no_double_burst_across_a_minute_boundary(
    limiter: RateLimiter, clock: FrozenClock
) -> None:
    clock.advance(59.5)  # just before a minute boundary
    for _ in range(10):
        await limiter.hit("k", limit=10, per_s=60)
    clock.advance(1.0)  # just after it
    with pytest.raises(RateLimited):
        await limiter.hit("k", limit=10, per_s=60)


async def test_keys_are_independent(limiter: RateLimiter) -> None:
    for _ in range(3):
        await limiter.hit("a", limit=3)
    await limiter.hit("b", limit=3)
    with pytest.raises(RateLimited):
        await limiter.hit("a", limit=3)


async def test_processes_sharing_redis_share_their_buckets(clock: FrozenClock) -> None:
    if not REDIS_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("OMNIDESK_TEST_REDIS_URL is not set")
        pytest.skip("OMNIDESK_TEST_REDIS_URL is not set")
    prefix = f"test-{uuid.uuid4().hex}:"
    one = RedisRateLimiter(REDIS_URL, clock, key_prefix=prefix)
    two = RedisRateLimiter(REDIS_URL, clock, key_prefix=prefix)
    try:
        for limiter in (one, two, one):
            await limiter.hit("login:alex", limit=3)
        with pytest.raises(RateLimited):
            await two.hit("login:alex", limit=3)
    finally:
        await one.close()
        await two.close()


async def test_an_unreachable_redis_lets_requests_through(clock: FrozenClock) -> None:
    # Failing open: a Redis outage must not lock everybody out of logging in.
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", clock, key_prefix="gone:")
    try:
        for _ in range(5):
            await limiter.hit("k", limit=1)
    finally:
        await limiter.close()
