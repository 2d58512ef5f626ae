"""The scale-out broker: Redis pub/sub on one channel per account, ``{prefix}events:{id}``.

Each process holds one PubSub connection. A reader task fans its messages out to the local
subscriptions; a commander task is the only sender of SUBSCRIBE and UNSUBSCRIBE, so Redis
confirms them in the order they were sent and we know when a channel is really listening —
only then does :meth:`RedisBroker.subscribe` return.

Redis pub/sub forgets what it could not deliver. When the connection drops, every live
subscription is closed as ``broker_lost`` (its owner resumes from the event log) and the
broker reconnects with backoff; subscriptions still waiting for their channel are kept.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections import deque
from collections.abc import Sequence
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from omnidesk.realtime.broker import (
    DEFAULT_MAX_PENDING,
    BrokerUnavailable,
    EventDict,
    Subscription,
)
from omnidesk.realtime.cancel import cancel_and_wait

log = structlog.get_logger(__name__)


class RedisBroker:
    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "omnidesk:",
        max_pending: int = DEFAULT_MAX_PENDING,
        subscribe_timeout_s: float = 5.0,
        ping_interval_s: float = 5.0,
        reconnect_max_s: float = 5.0,
    ) -> None:
        self.url = url
        self.key_prefix = key_prefix
        self.max_pending = max_pending
        self.subscribe_timeout_s = subscribe_timeout_s
        self.ping_interval_s = ping_interval_s
        self.reconnect_max_s = reconnect_max_s
        #: Shown by CLIENT LIST, so an operator (or a test) can find this process's listener.
        self.listener_name = f"omnidesk-realtime-{os.getpid()}-{secrets.token_hex(4)}"
        self._publisher: Redis | None = None
        self._listener: Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._local: dict[str, set[Subscription]] = {}  # channel → subscriptions in this process
        self._waiting: dict[Subscription, asyncio.Future[None]] = {}  # until their channel listens
        self._requested: set[str] = set()  # the last command sent for these was SUBSCRIBE
        self._in_flight: dict[str, deque[str]] = {}  # commands sent, not yet confirmed
        self._listening: set[str] = set()  # requested, confirmed, nothing else in flight
        self._dirty: set[str] = set()  # channels whose wanted state may differ from Redis's
        self._wake = asyncio.Event()

    def channel(self, account_id: int) -> str:
        return f"{self.key_prefix}events:{account_id}"

    async def start(self) -> None:
        self._publisher = Redis.from_url(self.url, client_name=f"{self.listener_name}-pub")
        # No retries on the listener: redis-py would reconnect and resubscribe silently,
        # hiding the messages lost meanwhile. We want the error, to close what missed them.
        self._listener = Redis.from_url(
            self.url, client_name=self.listener_name, retry=Retry(NoBackoff(), 0)
        )
        self._task = asyncio.create_task(self._run(), name="redis-broker")

    async def stop(self) -> None:
        # Closed before the reader goes, so that owners see "closed", not "broker_lost".
        for subscriptions in list(self._local.values()):
            for subscription in list(subscriptions):
                subscription.close()
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        for client in (self._publisher, self._listener):
            if client is not None:
                await client.aclose()
        self._publisher = self._listener = None

    async def publish(self, account_id: int, event: EventDict) -> None:
        await self.publish_many(account_id, [event])

    async def publish_many(self, account_id: int, events: Sequence[EventDict]) -> None:
        """One PUBLISH of a JSON array: a busy account's events cost one round trip per
        batch, not one per event."""
        if self._publisher is None:
            raise RuntimeError("the broker is not started")
        if not events:
            return
        payload = json.dumps(list(events), separators=(",", ":"))
        await self._publisher.publish(self.channel(account_id), payload)

    async def subscribe(self, account_id: int) -> Subscription:
        if self._task is None:
            raise RuntimeError("the broker is not started")
        channel = self.channel(account_id)
        subscription = Subscription(account_id, max_pending=self.max_pending, on_close=self._forget)
        self._local.setdefault(channel, set()).add(subscription)
        if channel in self._listening:
            return subscription
        ready = asyncio.get_running_loop().create_future()
        self._waiting[subscription] = ready
        self._mark(channel)
        try:
            # asyncio.wait neither raises the future's outcome nor cancels it on timeout.
            await asyncio.wait({ready}, timeout=self.subscribe_timeout_s)
        except BaseException:
            subscription.close()
            raise
        if not ready.done() or ready.cancelled() or subscription.closed:
            subscription.close()
            raise BrokerUnavailable("Redis did not confirm the subscription in time")
        return subscription

    def subscriber_count(self, account_id: int) -> int:
        return len(self._local.get(self.channel(account_id), ()))

    # --- bookkeeping ------------------------------------------------------------------

    def _mark(self, channel: str) -> None:
        self._dirty.add(channel)
        self._wake.set()

    def _forget(self, subscription: Subscription) -> None:
        ready = self._waiting.pop(subscription, None)
        if ready is not None and not ready.done():
            ready.cancel()
        channel = self.channel(subscription.account_id)
        subscriptions = self._local.get(channel)
        if subscriptions is None:
            return
        subscriptions.discard(subscription)
        if not subscriptions:
            del self._local[channel]
            self._mark(channel)

    def _confirmed(self, kind: str, channel: str) -> None:
        in_flight = self._in_flight.get(channel)
        if in_flight:
            in_flight.popleft()
            if in_flight:
                return  # more commands on their way: wait for Redis's last word
            del self._in_flight[channel]
        if kind != "subscribe" or channel not in self._requested:
            return
        self._listening.add(channel)
        for subscription in self._local.get(channel, ()):
            ready = self._waiting.pop(subscription, None)
            if ready is not None and not ready.done():
                ready.set_result(None)

    def _connection_lost(self) -> None:
        self._requested.clear()
        self._in_flight.clear()
        self._listening.clear()
        self._dirty.clear()
        for subscriptions in list(self._local.values()):
            for subscription in list(subscriptions):
                if subscription not in self._waiting:
                    subscription.close("broker_lost")

    # --- tasks ------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._listener is not None
        delay = 0.1
        while True:
            pubsub = self._listener.pubsub()
            tasks: list[asyncio.Task[None]] = []
            try:
                await pubsub.connect()  # type: ignore[no-untyped-call]  # untyped in redis-py
                delay = 0.1
                self._dirty.update(self._local)  # subscriptions that waited for a connection
                self._wake.set()
                tasks = [
                    asyncio.create_task(self._read(pubsub)),
                    asyncio.create_task(self._command(pubsub)),
                ]
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                done.pop().result()  # both loop forever: this raises why one stopped
            except (RedisError, OSError) as error:
                log.warning("redis_broker_disconnected", error=repr(error))
            except Exception:
                log.exception("redis_broker_failed")
            finally:
                await cancel_and_wait(*tasks)
                self._connection_lost()
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.reconnect_max_s)

    async def _command(self, pubsub: PubSub) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._dirty:
                channel = self._dirty.pop()
                wanted = bool(self._local.get(channel))
                if wanted and channel not in self._requested:
                    self._requested.add(channel)
                    self._in_flight.setdefault(channel, deque()).append("subscribe")
                    await pubsub.subscribe(channel)
                elif not wanted and channel in self._requested:
                    self._requested.discard(channel)
                    self._listening.discard(channel)
                    self._in_flight.setdefault(channel, deque()).append("unsubscribe")
                    await pubsub.unsubscribe(channel)

    async def _read(self, pubsub: PubSub) -> None:
        loop = asyncio.get_running_loop()
        last_heard = loop.time()
        while True:
            message = await pubsub.get_message(timeout=self.ping_interval_s)
            if message is not None:
                last_heard = loop.time()
                self._handle(message)
                continue
            # A silent peer may be a dead one (no RST after a network cut): ask, and give up
            # when even a PING goes unanswered.
            if loop.time() - last_heard > 2 * self.ping_interval_s:
                raise ConnectionError("Redis stopped answering")
            await pubsub.ping()

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        raw_channel = message["channel"]
        if raw_channel is None:  # a PONG
            return
        channel = raw_channel.decode() if isinstance(raw_channel, bytes) else str(raw_channel)
        if kind in ("subscribe", "unsubscribe"):
            self._confirmed(kind, channel)
            return
        subscriptions = self._local.get(channel)
        if kind != "message" or not subscriptions:
            return
        try:
            events = json.loads(message["data"])
        except ValueError:
            events = None
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            log.warning("redis_broker_bad_message", channel=channel)
            return
        for subscription in list(subscriptions):
            for event in events:
                subscription.deliver(event)
