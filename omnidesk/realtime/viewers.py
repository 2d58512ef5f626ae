"""Collision presence: which agents are viewing, or typing in, a conversation right now.

Live only, never stored in the database: a small registry with a time-to-live per entry —
in this process (embedded) or in Redis (scale-out, shared by every server process) — and an
ephemeral ``conversation.viewers`` frame on ``/ws`` each time it changes, sent through the
broker with the conversation's audience (``live.py``): the agents who may see the
conversation and the supervisors get it, nobody else.

An agent's desktop says "viewing" when it opens a conversation and renews it while it stays
open (``POST /api/v1/conversations/{id}/viewing``, within ``viewing_ttl_s``); typing comes
from ``POST …/typing`` (``typing_ttl_s`` of the web chat). Each viewer in a frame carries its
``expires_in_s``: a tab closed without saying so disappears from the others' indicator when
that runs out, and from the registry's answers too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

import structlog
from pydantic import BaseModel, Field
from redis.asyncio import Redis

from omnidesk.accounts.principal import Principal
from omnidesk.conversations.models import Conversation
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import ServiceUnavailable, ValidationFailed
from omnidesk.realtime import live
from omnidesk.settings import Settings

if TYPE_CHECKING:
    from omnidesk.bootstrap import Container

log = structlog.get_logger(__name__)

MESSAGE_TYPE = "conversation.viewers"
What = Literal["viewing", "typing"]
#: A Redis registry key nobody touched for this long is dropped (entries expire far sooner).
_KEY_TTL_S = 3600
#: Changes between two sweeps of the in-memory registry for conversations nobody reads.
_SWEEP_EVERY = 1000


@dataclass
class Viewer:
    user_id: int
    name: str
    role: str
    viewing_until: datetime | None = None
    typing_until: datetime | None = None

    def live(self, now: datetime) -> bool:
        return any(until is not None and until > now for until in self._untils())

    def _untils(self) -> tuple[datetime | None, datetime | None]:
        return self.viewing_until, self.typing_until


class ViewerOut(BaseModel):
    user_id: int
    name: str
    role: str = Field(description="`agent`, `supervisor` or `admin`: a supervisor watching shows.")
    viewing: bool
    typing: bool
    expires_in_s: float = Field(
        description="Seconds until this entry lapses unless renewed (a closed tab)."
    )


class ViewersOut(BaseModel):
    conversation_id: int
    viewers: list[ViewerOut] = Field(description="By user id; the caller included.")


class ViewerStore(Protocol):
    async def mark(
        self,
        account_id: int,
        conversation_id: int,
        viewer: Viewer,
        what: What,
        until: datetime | None,
    ) -> None:
        """Set (``until``) or end (None) one user's viewing or typing."""

    async def current(self, account_id: int, conversation_id: int, now: datetime) -> list[Viewer]:
        """Live entries, by user id; expired ones are forgotten."""

    async def close(self) -> None: ...


@dataclass
class MemoryViewers:
    """Embedded: one process serves every agent, so its memory is the whole truth."""

    _rooms: dict[tuple[int, int], dict[int, Viewer]] = field(default_factory=dict)
    _changes: int = 0

    async def mark(
        self,
        account_id: int,
        conversation_id: int,
        viewer: Viewer,
        what: What,
        until: datetime | None,
    ) -> None:
        room = self._rooms.setdefault((account_id, conversation_id), {})
        entry = room.setdefault(viewer.user_id, Viewer(viewer.user_id, viewer.name, viewer.role))
        entry.name, entry.role = viewer.name, viewer.role
        if what == "viewing":
            entry.viewing_until = until
        else:
            entry.typing_until = until
        if entry.viewing_until is None and entry.typing_until is None:
            del room[viewer.user_id]
        self._changes += 1
        if self._changes % _SWEEP_EVERY == 0 and until is not None:
            self._sweep(until)

    async def current(self, account_id: int, conversation_id: int, now: datetime) -> list[Viewer]:
        room = self._rooms.get((account_id, conversation_id), {})
        for user_id in [u for u, v in room.items() if not v.live(now)]:
            del room[user_id]
        if not room:
            self._rooms.pop((account_id, conversation_id), None)
        return [room[u] for u in sorted(room)]

    def _sweep(self, now: datetime) -> None:
        for key, room in list(self._rooms.items()):
            for user_id in [u for u, v in room.items() if not v.live(now)]:
                del room[user_id]
            if not room:
                del self._rooms[key]

    async def close(self) -> None:
        self._rooms.clear()


class RedisViewers:
    """Scale-out: one hash per conversation, ``{prefix}viewers:{account}:{conversation}``,
    fields ``viewing:{user}`` and ``typing:{user}`` holding who and until when."""

    def __init__(self, url: str, *, key_prefix: str) -> None:
        self._redis: Redis = Redis.from_url(url, client_name="omnidesk-viewers")
        self._prefix = key_prefix

    def _key(self, account_id: int, conversation_id: int) -> str:
        return f"{self._prefix}viewers:{account_id}:{conversation_id}"

    async def mark(
        self,
        account_id: int,
        conversation_id: int,
        viewer: Viewer,
        what: What,
        until: datetime | None,
    ) -> None:
        key = self._key(account_id, conversation_id)
        name = f"{what}:{viewer.user_id}"
        if until is None:
            await self._redis.hdel(key, name)
            return
        value = json.dumps({"name": viewer.name, "role": viewer.role, "until": until.isoformat()})
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, name, value)
            pipe.expire(key, _KEY_TTL_S)
            await pipe.execute()

    async def current(self, account_id: int, conversation_id: int, now: datetime) -> list[Viewer]:
        key = self._key(account_id, conversation_id)
        raw = await self._redis.hgetall(key)
        found: dict[int, Viewer] = {}
        expired: list[str] = []
        for raw_name, value in raw.items():
            name = raw_name.decode() if isinstance(raw_name, bytes) else raw_name
            try:
                what, user = name.split(":", 1)
                data: dict[str, Any] = json.loads(value)
                until = datetime.fromisoformat(data["until"])
                user_id = int(user)
            except (ValueError, KeyError, TypeError):
                expired.append(name)  # not ours: dropped
                continue
            if until <= now:
                expired.append(name)
                continue
            entry = found.setdefault(user_id, Viewer(user_id, str(data["name"]), str(data["role"])))
            if what == "viewing":
                entry.viewing_until = until
            else:
                entry.typing_until = until
        if expired:
            await self._redis.hdel(key, *expired)
        return [found[u] for u in sorted(found)]

    async def close(self) -> None:
        await self._redis.aclose()


def make_store(settings: Settings) -> ViewerStore:
    if settings.redis_url:
        return RedisViewers(settings.redis_url, key_prefix=settings.redis_key_prefix)
    return MemoryViewers()


def _out(conversation_id: int, viewers: list[Viewer], now: datetime) -> ViewersOut:
    def remaining(until: datetime | None) -> float:
        return max(0.0, (until - now).total_seconds()) if until is not None else 0.0

    return ViewersOut(
        conversation_id=conversation_id,
        viewers=[
            ViewerOut(
                user_id=v.user_id,
                name=v.name,
                role=v.role,
                viewing=v.viewing_until is not None and v.viewing_until > now,
                typing=v.typing_until is not None and v.typing_until > now,
                expires_in_s=round(max(remaining(v.viewing_until), remaining(v.typing_until)), 3),
            )
            for v in viewers
        ],
    )


async def current(container: Container, conversation: Conversation) -> ViewersOut:
    now = container.clock.now()
    try:
        found = await container.viewers.current(conversation.account_id, conversation.id, now)
    except Exception as exc:
        log.warning("viewers_unavailable", exc_info=True)
        raise ServiceUnavailable("who is viewing is unknown right now") from exc
    return _out(conversation.id, found, now)


async def changed(
    container: Container,
    conversation: Conversation,
    principal: Principal,
    name: str,
    what: What,
    *,
    on: bool,
    ttl_s: float,
) -> ViewersOut | None:
    """Record that the principal started (renewed) or stopped viewing or typing, and send
    the conversation's viewers to the sockets that may see it. None when the registry
    cannot be reached (logged): the indicator is a convenience, never a reason to fail."""
    if principal.user_id is None:
        raise ValidationFailed("only a user can view a conversation")
    clock: Clock = container.clock
    now = clock.now()
    store = container.viewers
    viewer = Viewer(principal.user_id, name, principal.role)
    try:
        until = now + timedelta(seconds=ttl_s) if on else None
        await store.mark(conversation.account_id, conversation.id, viewer, what, until)
        found = await store.current(conversation.account_id, conversation.id, now)
    except Exception:
        log.warning("viewers_unavailable", what=what, exc_info=True)
        return None
    body = _out(conversation.id, found, now)
    await live.publish_to_conversation(
        container.broker, conversation, {"type": MESSAGE_TYPE, **body.model_dump(mode="json")}
    )
    return body
