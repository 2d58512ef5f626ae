"""Broker backends; :func:`make_broker` picks one from the settings."""

from __future__ import annotations

from omnidesk.realtime.backends.memory import MemoryBroker
from omnidesk.realtime.backends.redis import RedisBroker
from omnidesk.realtime.broker import Broker
from omnidesk.settings import Settings


def make_broker(settings: Settings) -> Broker:
    """Redis when it is configured (several processes share events), memory otherwise."""
    if settings.redis_url:
        return RedisBroker(settings.redis_url, key_prefix=settings.redis_key_prefix)
    return MemoryBroker()


__all__ = ["MemoryBroker", "RedisBroker", "make_broker"]
