"""Token-bucket rate limiters: in memory (one process) or in Redis (every server process).

Each key holds up to ``limit`` tokens, refilled at ``limit / per_s`` per second; a hit takes
one. Unlike a fixed window, a burst cannot double at a window's edge. In scale-out the
buckets live in Redis, so N server processes allow what one would, not N times as much.
"""

from __future__ import annotations

import math
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import RateLimited

log = structlog.get_logger(__name__)

MESSAGE = "too many attempts, try again later"


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, per_s: float = 60.0) -> None:
        """Take a token from ``key``'s bucket; :class:`RateLimited` when it is empty."""

    async def close(self) -> None: ...


def _refused(tokens: float, rate: float) -> RateLimited:
    retry = math.ceil((1.0 - tokens) / rate)
    return RateLimited(MESSAGE, retry_after_s=max(retry, 1))


class MemoryRateLimiter:
    def __init__(self, clock: Clock, *, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, at)
        self._max_keys = max_keys

    async def hit(self, key: str, *, limit: int, per_s: float = 60.0) -> None:
        now = self._clock.now().timestamp()
        rate = limit / per_s
        tokens, at = self._buckets.get(key, (float(limit), now))
        tokens = min(float(limit), tokens + (now - at) * rate)
        if tokens < 1.0:
            raise _refused(tokens, rate)
        if len(self._buckets) >= self._max_keys and key not in self._buckets:
            self._buckets.clear()  # bounded memory beats perfect accounting under a flood
        self._buckets[key] = (tokens - 1.0, now)

    async def close(self) -> None:
        self._buckets.clear()


# The same bucket as MemoryRateLimiter, read and written atomically. Numbers travel as
# strings: Redis truncates a Lua number it returns to an integer.
_TAKE = """
local limit, rate, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or limit
local at = tonumber(state[2]) or now
tokens = math.min(limit, tokens + math.max(0, now - at) * rate)
if tokens < 1 then
  return {0, tostring(tokens)}
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return {1, tostring(tokens - 1)}
"""


class RedisRateLimiter:
    """Buckets shared by every process of an installation (keys under its prefix)."""

    def __init__(self, url: str, clock: Clock, *, key_prefix: str) -> None:
        self._redis: Redis = Redis.from_url(url, client_name="omnidesk-ratelimit")
        self._clock = clock
        self._prefix = f"{key_prefix}ratelimit:"
        self._take = self._redis.register_script(_TAKE)

    async def hit(self, key: str, *, limit: int, per_s: float = 60.0) -> None:
        rate = limit / per_s
        now = self._clock.now().timestamp()
        # A bucket untouched for a whole period is full again: it may go.
        ttl = math.ceil(per_s) + 1
        try:
            taken, tokens = await self._take(
                keys=[self._prefix + key], args=[limit, repr(rate), repr(now), ttl]
            )
        except RedisError as exc:
            # Failing open: a Redis outage must not lock every user out of logging in.
            log.warning("rate_limit_unavailable", key=key, error=repr(exc)[:200])
            return
        if not int(taken):
            raise _refused(float(tokens), rate)

    async def close(self) -> None:
        await self._redis.aclose()


def make_rate_limiter(redis_url: str | None, clock: Clock, *, key_prefix: str) -> RateLimiter:
    """Redis when the installation has one (scale-out), else this process's memory."""
    if redis_url:
        return RedisRateLimiter(redis_url, clock, key_prefix=key_prefix)
    return MemoryRateLimiter(clock)
