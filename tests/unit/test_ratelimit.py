from __future__ import annotations

import pytest

from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.errors import RateLimited
from omnidesk.kit.ratelimit import RateLimiter


def test_a_burst_up_to_the_limit_then_one_token_per_interval() -> None:
    clock = FrozenClock()
    limiter = RateLimiter(clock)
    for _ in range(10):
        limiter.hit("k", limit=10, per_s=60)
    with pytest.raises(RateLimited) as refused:
        limiter.hit("k", limit=10, per_s=60)
    assert refused.value.retry_after_s == 6
    clock.advance(5.9)
    with pytest.raises(RateLimited):
        limiter.hit("k", limit=10, per_s=60)
    clock.advance(0.2)
    limiter.hit("k", limit=10, per_s=60)


def test_no_double_burst_across_a_minute_boundary() -> None:
    clock = FrozenClock()
    clock.advance(59.5)  # just before a minute boundary
    limiter = RateLimiter(clock)
    for _ in range(10):
        limiter.hit("k", limit=10, per_s=60)
    clock.advance(1.0)  # just after it
    with pytest.raises(RateLimited):
        limiter.hit("k", limit=10, per_s=60)


def test_keys_are_independent() -> None:
    limiter = RateLimiter(FrozenClock())
    for _ in range(3):
        limiter.hit("a", limit=3)
    limiter.hit("b", limit=3)
    with pytest.raises(RateLimited):
        limiter.hit("a", limit=3)
