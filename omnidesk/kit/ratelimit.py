"""A token-bucket rate limiter, in memory per process.

Each key holds up to ``limit`` tokens, refilled at ``limit / per_s`` per second; a hit takes
one. Unlike a fixed window, a burst cannot double at a window's edge. Good enough for login
and public endpoints in the embedded deployment (scale-out puts a proxy limit in front too).
"""

from __future__ import annotations

import math

from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import RateLimited


class RateLimiter:
    def __init__(self, clock: Clock, *, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, at)
        self._max_keys = max_keys

    def hit(self, key: str, *, limit: int, per_s: float = 60.0) -> None:
        now = self._clock.now().timestamp()
        rate = limit / per_s
        tokens, at = self._buckets.get(key, (float(limit), now))
        tokens = min(float(limit), tokens + (now - at) * rate)
        if tokens < 1.0:
            retry = math.ceil((1.0 - tokens) / rate)
            raise RateLimited("too many attempts, try again later", retry_after_s=max(retry, 1))
        if len(self._buckets) >= self._max_keys and key not in self._buckets:
            self._buckets.clear()  # bounded memory beats perfect accounting under a flood
        self._buckets[key] = (tokens - 1.0, now)
