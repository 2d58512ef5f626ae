"""The open connections of one account, indexed by the visibility keys their users hold."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from omnidesk.accounts.principal import Principal
from omnidesk.events.visibility import Key, holds
from omnidesk.realtime.broker import Subscription
from omnidesk.realtime.visibility import entitled


class ConnectionIndex:
    def __init__(self) -> None:
        self._by_key: dict[Key, set[Subscription]] = {}
        self._keys: dict[Subscription, set[Key]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[Subscription]:
        return iter(list(self._keys))  # a copy: closing a connection removes it

    def add(self, connection: Subscription, principal: Principal) -> None:
        keys = self._keys[connection] = holds(principal)
        for key in keys:
            self._by_key.setdefault(key, set()).add(connection)

    def remove(self, connection: Subscription) -> None:
        for key in self._keys.pop(connection, ()):
            connections = self._by_key[key]
            connections.discard(connection)
            if not connections:
                del self._by_key[key]

    def entitled(self, event: Mapping[str, Any]) -> set[Subscription]:
        """The connections whose user may see ``event``: O(their number), not O(all)."""
        found: set[Subscription] = set()
        for key in entitled(event):
            found.update(self._by_key.get(key, ()))
        return found
