"""The fan-out: one broker subscription per account, each event to the entitled connections."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from omnidesk.accounts.principal import Principal
from omnidesk.realtime.backends import MemoryBroker, RedisBroker
from omnidesk.realtime.broker import (
    Broker,
    BrokerUnavailable,
    CloseReason,
    Subscription,
    ephemeral,
)
from omnidesk.realtime.fanout import Fanout
from omnidesk.realtime.hub import Hub
from tests.realtime.conftest import TIMEOUT_S

ACCOUNT = 1
ANN, BOB, CAT, SUE, ADA = 10, 11, 12, 2, 1  # Ann, Bob and Cat are agents
TIER1, TIER2 = 5, 6

PRINCIPALS = {
    "ada": Principal(account_id=ACCOUNT, user_id=ADA, role="admin"),
    "sue": Principal(
        account_id=ACCOUNT, user_id=SUE, role="supervisor", team_ids=frozenset({TIER2})
    ),
    "ann": Principal(account_id=ACCOUNT, user_id=ANN, role="agent", team_ids=frozenset({TIER1})),
    "bob": Principal(account_id=ACCOUNT, user_id=BOB, role="agent", team_ids=frozenset({TIER2})),
    "cat": Principal(account_id=ACCOUNT, user_id=CAT, role="agent"),  # in no team
}
EVERYBODY = set(PRINCIPALS)


def event(
    event_id: int, audience: str, assignee_id: int | None = None, team_id: int | None = None
) -> dict[str, Any]:
    return {"id": event_id, "audience": audience, "assignee_id": assignee_id, "team_id": team_id}


def marker(event_id: int) -> dict[str, Any]:
    return event(event_id, "account")


class RecordingBroker(MemoryBroker):
    """A memory broker that keeps the subscriptions it handed out, and can refuse them."""

    def __init__(self, *, max_pending: int = 1000) -> None:
        super().__init__(max_pending=max_pending)
        self.handed: list[Subscription] = []
        self.refuse = False
        self.gate: asyncio.Event | None = None  # when there is one, subscribing waits for it
        self.subscribing = asyncio.Event()  # a subscribe call is waiting for the gate
        self.given_up = 0  # subscribe calls cancelled while waiting

    async def subscribe(self, account_id: int) -> Subscription:
        if self.refuse:
            raise BrokerUnavailable("refused")
        if self.gate is not None:
            self.subscribing.set()
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.given_up += 1
                raise
        subscription = await super().subscribe(account_id)
        self.handed.append(subscription)
        return subscription


@pytest.fixture(params=["memory", "redis"])
async def any_broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    broker: Broker
    if request.param == "redis":
        redis_url: str = request.getfixturevalue("redis_url")
        broker = RedisBroker(redis_url, key_prefix=f"omnidesk-test-{uuid.uuid4().hex}:")
    else:
        broker = MemoryBroker()
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture
async def broker() -> AsyncIterator[RecordingBroker]:
    recording = RecordingBroker()
    await recording.start()
    yield recording
    await recording.stop()


async def until(subscription: Subscription, marker_id: int) -> list[int]:
    """The ids received up to the marker (excluded); the marker follows every earlier event."""
    received = []
    async with asyncio.timeout(TIMEOUT_S):
        async for delivered in subscription:
            if delivered["id"] == marker_id:
                return received
            received.append(delivered["id"])
    raise AssertionError(f"closed ({subscription.closed_reason}) before the marker")


async def ended(subscription: Subscription) -> CloseReason | None:
    """Wait for the subscription to close; its reason (nothing may arrive meanwhile)."""
    async with asyncio.timeout(TIMEOUT_S):
        assert [e async for e in subscription] == []
    return subscription.closed_reason


CASES = [
    # event, who receives it
    (event(1, "account"), EVERYBODY),
    (event(1, "supervisors"), {"ada", "sue"}),
    (event(1, "conversation", assignee_id=ANN), {"ada", "sue", "ann"}),
    (event(1, "conversation", team_id=TIER1), {"ada", "sue", "ann"}),
    (event(1, "conversation", team_id=TIER2), {"ada", "sue", "bob"}),
    (event(1, "conversation", assignee_id=BOB, team_id=TIER1), {"ada", "sue", "ann", "bob"}),
    (event(1, "conversation", assignee_id=CAT, team_id=TIER2), {"ada", "sue", "bob", "cat"}),
    (event(1, "conversation", assignee_id=999), {"ada", "sue"}),
    (event(1, "conversation"), EVERYBODY),  # unowned: every agent may pick it up
    (event(1, "telepathy"), set()),  # unknown audience: nobody
    ({"id": 1}, set()),
]


@pytest.mark.parametrize(("sent", "expected"), CASES)
async def test_an_event_reaches_exactly_the_entitled_connections(
    any_broker: Broker, sent: dict[str, Any], expected: set[str]
) -> None:
    fanout = Fanout(any_broker)
    try:
        connections = {name: await fanout.join(p) for name, p in PRINCIPALS.items()}
        await any_broker.publish(ACCOUNT, sent)
        await any_broker.publish(ACCOUNT, marker(2))
        received = {name: await until(c, 2) for name, c in connections.items()}
    finally:
        await fanout.stop()
    assert {name for name, ids in received.items() if ids} == expected
    assert all(ids in ([], [1]) for ids in received.values())


async def test_one_broker_subscription_per_account_whatever_the_number_of_sockets(
    any_broker: Broker,
) -> None:
    fanout = Fanout(any_broker)
    try:
        ours = [await fanout.join(PRINCIPALS["ann"]) for _ in range(20)]
        theirs = await fanout.join(Principal(account_id=2, user_id=50, role="agent"))
        assert (any_broker.subscriber_count(ACCOUNT), any_broker.subscriber_count(2)) == (1, 1)
        assert (fanout.connection_count(ACCOUNT), fanout.connection_count(2)) == (20, 1)

        await any_broker.publish(2, marker(7))
        assert await until(theirs, 7) == []
        for connection in ours[1:]:
            connection.close()
        assert any_broker.subscriber_count(ACCOUNT) == 1  # one socket is still there
        await any_broker.publish(ACCOUNT, marker(8))
        assert await until(ours[0], 8) == []
        ours[0].close()  # the last one leaves: the subscription goes
        assert (any_broker.subscriber_count(ACCOUNT), fanout.connection_count(ACCOUNT)) == (0, 0)
        assert any_broker.subscriber_count(2) == 1
    finally:
        await fanout.stop()
    assert any_broker.subscriber_count(2) == 0


@pytest.mark.parametrize("reason", ["overflowed", "broker_lost"])
async def test_an_interrupted_account_subscription_closes_every_connection_with_its_reason(
    broker: RecordingBroker, reason: CloseReason
) -> None:
    fanout = Fanout(broker)
    try:
        connections = [await fanout.join(p) for p in PRINCIPALS.values()]
        [shared] = broker.handed
        shared.close(reason)
        for connection in connections:
            assert await ended(connection) == reason
            assert connection.interrupted  # its socket gets CLOSE_RESUME
        assert (broker.subscriber_count(ACCOUNT), fanout.connection_count(ACCOUNT)) == (0, 0)

        # The next connection takes a fresh subscription, live when join returns.
        after = await fanout.join(PRINCIPALS["ann"])
        assert len(broker.handed) == 2
        assert not broker.handed[1].closed
        assert broker.subscriber_count(ACCOUNT) == 1
        await broker.publish(ACCOUNT, event(1, "conversation", assignee_id=ANN))
        await broker.publish(ACCOUNT, marker(2))
        assert await until(after, 2) == [1]
    finally:
        await fanout.stop()


async def test_joining_before_the_interruption_is_noticed_takes_a_fresh_subscription(
    broker: RecordingBroker,
) -> None:
    fanout = Fanout(broker)
    try:
        before = await fanout.join(PRINCIPALS["ann"])
        broker.handed[0].close("broker_lost")  # the dispatcher has not run since
        after = await fanout.join(PRINCIPALS["bob"])
        assert len(broker.handed) == 2
        assert await ended(before) == "broker_lost"
        await broker.publish(ACCOUNT, marker(1))
        assert await until(after, 1) == []
        assert fanout.connection_count(ACCOUNT) == 1
    finally:
        await fanout.stop()


async def test_a_connection_that_falls_behind_is_closed_alone(broker: RecordingBroker) -> None:
    fanout = Fanout(broker, max_pending=2)
    try:
        slow = await fanout.join(PRINCIPALS["ann"])
        other = await fanout.join(PRINCIPALS["bob"])
        for event_id in (1, 2, 3):  # the memory broker never yields: all wait for dispatch
            await broker.publish(ACCOUNT, event(event_id, "conversation", assignee_id=ANN))
        await broker.publish(ACCOUNT, marker(4))
        assert await until(other, 4) == []
        assert slow.closed_reason == "overflowed"
        assert broker.subscriber_count(ACCOUNT) == 1
        assert fanout.connection_count(ACCOUNT) == 1
    finally:
        await fanout.stop()


async def test_events_published_before_a_connection_joined_are_not_for_it(
    broker: RecordingBroker,
) -> None:
    # What keeps replay plus live free of duplicates: a live event is one published after
    # join returned, never one still waiting on the shared subscription.
    fanout = Fanout(broker)
    try:
        first = await fanout.join(PRINCIPALS["ann"])
        await broker.publish(ACCOUNT, marker(1))  # waits on the shared subscription
        second = await fanout.join(PRINCIPALS["ann"])
        await broker.publish(ACCOUNT, marker(2))
        assert await until(first, 2) == [1]
        assert await until(second, 2) == []
    finally:
        await fanout.stop()


async def test_connections_joining_together_share_one_subscription(
    broker: RecordingBroker,
) -> None:
    broker.gate = asyncio.Event()
    fanout = Fanout(broker)
    try:
        joining = [asyncio.create_task(fanout.join(p)) for p in PRINCIPALS.values()]
        async with asyncio.timeout(TIMEOUT_S):
            await broker.subscribing.wait()
        assert not any(task.done() for task in joining)
        broker.gate.set()
        async with asyncio.timeout(TIMEOUT_S):
            connections = await asyncio.gather(*joining)
        assert len(broker.handed) == 1
        assert fanout.connection_count(ACCOUNT) == len(connections) == len(PRINCIPALS)
    finally:
        await fanout.stop()


async def test_when_the_broker_refuses_every_waiting_connection_is_refused(
    broker: RecordingBroker,
) -> None:
    broker.refuse = True
    fanout = Fanout(broker)
    try:
        joining = [asyncio.create_task(fanout.join(p)) for p in PRINCIPALS.values()]
        async with asyncio.timeout(TIMEOUT_S):
            outcomes = await asyncio.gather(*joining, return_exceptions=True)
        assert all(isinstance(outcome, BrokerUnavailable) for outcome in outcomes)
        assert fanout.connection_count(ACCOUNT) == 0
        broker.refuse = False  # the next one tries again
        await fanout.join(PRINCIPALS["ann"])
        assert broker.subscriber_count(ACCOUNT) == 1
    finally:
        await fanout.stop()


async def test_leaving_while_the_subscription_is_taken_gives_it_up(
    broker: RecordingBroker,
) -> None:
    broker.gate = asyncio.Event()
    fanout = Fanout(broker)
    try:
        joining = asyncio.create_task(fanout.join(PRINCIPALS["ann"]))
        async with asyncio.timeout(TIMEOUT_S):
            await broker.subscribing.wait()
        joining.cancel()
        with pytest.raises(asyncio.CancelledError):
            await joining
        assert fanout.connection_count(ACCOUNT) == 0
        await fanout.stop()  # waits for the dispatcher, which gave up subscribing
        assert broker.given_up == 1
        assert broker.handed == []
        assert broker.subscriber_count(ACCOUNT) == 0
    finally:
        await fanout.stop()


async def test_stopping_the_hub_closes_the_connections_without_asking_to_resume(
    broker: RecordingBroker,
) -> None:
    hub = Hub(broker)
    await hub.start()
    connections = [await hub.fanout.join(p) for p in PRINCIPALS.values()]
    await hub.stop()
    for connection in connections:
        assert connection.closed_reason == "closed"  # its socket gets CLOSE_RESTART
    assert broker.subscriber_count(ACCOUNT) == 0


async def test_an_ephemeral_message_for_supervisors_reaches_only_supervisors_and_admins(
    any_broker: Broker,
) -> None:
    fanout = Fanout(any_broker)
    stats = ephemeral("supervisors", {"type": "routing.stats", "stats": {}})
    try:
        connections = {name: await fanout.join(p) for name, p in PRINCIPALS.items()}
        await any_broker.publish_many(ACCOUNT, [stats, marker(2)])
        received: dict[str, list[dict[str, Any]]] = {name: [] for name in connections}
        async with asyncio.timeout(TIMEOUT_S):
            for name, connection in connections.items():
                # Publishing order is kept: had it reached an agent, it came before the marker.
                while (delivered := await anext(connection)).get("id") != 2:
                    received[name].append(delivered)
    finally:
        await fanout.stop()
    assert {name for name, messages in received.items() if messages} == {"ada", "sue"}
    assert received["sue"] == [stats]
