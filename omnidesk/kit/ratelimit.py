"""A fixed-window rate limiter. In-memory per process; good enough for login and public
endpoints in the embedded deployment (scale-out puts a proxy limit in front as well)."""

from __future__ import annotations

import math

from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import RateLimited


class RateLimiter:
    def __init__(self, clock: Clock, *, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, int]] = {}
        self._max_keys = max_keys

    def hit(self, key: str, *, limit: int, per_s: int = 60) -> None:
        now = self._clock.now().timestamp()
        window = int(now // per_s)
        start, count = self._windows.get(key, (window, 0))
        if start != window:
            start, count = window, 0
        if count >= limit:
            retry = math.ceil((start + 1) * per_s - now)
            raise RateLimited("too many attempts, try again later", retry_after_s=max(retry, 1))
        if len(self._windows) >= self._max_keys:
            self._windows.clear()  # bounded memory beats perfect accounting under a flood
        self._windows[key] = (start, count + 1)
