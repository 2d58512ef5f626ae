"""Recently authenticated API tokens, per process, so that an integration posting hundreds of
messages a second does not read its token, user and teams on every request.

An entry lives ``ttl_s`` seconds. Any committed change to users, teams, tokens or accounts
empties the cache of the process that made it (through the event sink), so there a revocation
or a role change applies to the next request; other server processes see it within ``ttl_s``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from omnidesk.accounts.service import Authenticated
from omnidesk.kit.clock import Clock
from omnidesk.kit.security import hash_token

Loader = Callable[[], Awaitable[Authenticated | None]]
#: Event types after which a cached principal may be wrong.
INVALIDATING = ("user.", "team.", "api_token.", "account.")
MAX_ENTRIES = 10_000


class TokenCache:
    def __init__(self, clock: Clock, *, ttl_s: float) -> None:
        self.clock = clock
        self.ttl = timedelta(seconds=ttl_s)
        self._entries: dict[str, tuple[Authenticated, datetime]] = {}
        #: Bumped on every invalidation: a lookup that began before one must not be stored.
        self.generation = 0
        self._loading: dict[str, asyncio.Future[Authenticated | None]] = {}

    async def get_or_load(self, token: str, load: Loader) -> Authenticated | None:
        """The cached principal, else ``load()``'s; concurrent misses share one load."""
        found = self.get(token)
        if found is not None:
            return found
        key = hash_token(token)
        loading = self._loading.get(key)
        if loading is None:
            loading = asyncio.ensure_future(self._load(token, key, load, self.generation))
            self._loading[key] = loading
        return await asyncio.shield(loading)

    async def _load(
        self, token: str, key: str, load: Loader, generation: int
    ) -> Authenticated | None:
        try:
            found = await load()
        finally:
            del self._loading[key]
        if found is not None:
            self.put(token, found, generation=generation)
        return found

    def get(self, token: str) -> Authenticated | None:
        key = hash_token(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        found, expires_at = entry
        if self.clock.now() >= expires_at:
            del self._entries[key]
            return None
        return found

    def put(self, token: str, found: Authenticated, *, generation: int) -> None:
        if generation != self.generation or self.ttl <= timedelta(0):
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[hash_token(token)] = (found, self.clock.now() + self.ttl)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    async def on_events(self, events: Sequence[Any]) -> None:
        """The unit of work's event sink."""
        if any(str(event.type).startswith(INVALIDATING) for event in events):
            self.clear()
