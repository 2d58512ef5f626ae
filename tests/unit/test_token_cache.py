"""The per-process cache of API tokens: expiry, invalidation, one load for concurrent misses."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from omnidesk.accounts.cache import TokenCache
from omnidesk.accounts.principal import Principal
from omnidesk.accounts.service import Authenticated
from omnidesk.kit.clock import FrozenClock

FOUND = Authenticated(Principal(account_id=1, user_id=2, role="agent", via="token"), None)


@dataclass
class _Event:
    type: str


class _Loader:
    def __init__(self, result: Authenticated | None = FOUND) -> None:
        self.calls = 0
        self.result = result
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self) -> Authenticated | None:
        self.calls += 1
        await self.gate.wait()
        return self.result


async def test_a_token_is_loaded_once_then_served_until_it_expires() -> None:
    clock = FrozenClock()
    cache, load = TokenCache(clock, ttl_s=5), _Loader()
    assert await cache.get_or_load("odk_a", load) == FOUND
    clock.advance(4.9)
    assert await cache.get_or_load("odk_a", load) == FOUND
    assert load.calls == 1
    clock.advance(0.2)
    assert await cache.get_or_load("odk_a", load) == FOUND
    assert load.calls == 2


async def test_unknown_tokens_are_not_remembered() -> None:
    cache, load = TokenCache(FrozenClock(), ttl_s=5), _Loader(result=None)
    assert await cache.get_or_load("odk_x", load) is None
    assert await cache.get_or_load("odk_x", load) is None
    assert load.calls == 2


async def test_a_change_to_users_teams_or_tokens_empties_the_cache() -> None:
    cache, load = TokenCache(FrozenClock(), ttl_s=5), _Loader()
    await cache.get_or_load("odk_a", load)
    await cache.on_events([_Event("message.received")])
    assert cache.get("odk_a") == FOUND
    for kind in ("api_token.revoked", "user.updated", "team.updated", "account.updated"):
        await cache.get_or_load("odk_a", load)
        await cache.on_events([_Event(kind)])
        assert cache.get("odk_a") is None, kind


async def test_a_load_overtaken_by_a_change_is_not_stored() -> None:
    cache, load = TokenCache(FrozenClock(), ttl_s=5), _Loader()
    load.gate.clear()
    pending = asyncio.ensure_future(cache.get_or_load("odk_a", load))
    await asyncio.sleep(0)
    await cache.on_events([_Event("api_token.revoked")])  # committed while the load ran
    load.gate.set()
    assert await pending == FOUND  # that request was already under way
    assert cache.get("odk_a") is None  # the next one checks again


async def test_concurrent_misses_share_one_load() -> None:
    cache, load = TokenCache(FrozenClock(), ttl_s=5), _Loader()
    load.gate.clear()
    waiting = [asyncio.ensure_future(cache.get_or_load("odk_a", load)) for _ in range(20)]
    await asyncio.sleep(0)
    load.gate.set()
    assert await asyncio.gather(*waiting) == [FOUND] * 20
    assert load.calls == 1


async def test_a_zero_ttl_checks_every_time() -> None:
    cache, load = TokenCache(FrozenClock(), ttl_s=0), _Loader()
    await cache.get_or_load("odk_a", load)
    await cache.get_or_load("odk_a", load)
    assert load.calls == 2
