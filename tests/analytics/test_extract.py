"""From logged events to report rows, without a database: the cases a scripted day does not
reach (work still held, work cancelled, presence across hours)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnidesk.analytics.extract import (
    LoggedEvent,
    available_seconds,
    build_records,
    presence_spans,
    wrap_up_periods,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Log:
    def __init__(self) -> None:
        self.events: list[LoggedEvent] = []

    def add(self, second: float, type_: str, conversation: int | None = 1, **data: Any) -> None:
        actor = data.pop("actor", None)
        self.events.append(
            LoggedEvent(len(self.events) + 1, type_, at(second), conversation, None, actor, data)
        )


def test_an_abandon_counts_from_when_the_customer_left_and_held_work_runs_to_now() -> None:
    log = Log()
    log.add(0, "work_item.queued", work_item_id=1, queue_id=7)
    log.add(40, "conversation.contact_left")
    log.add(42, "work_item.ended", work_item_id=1, status="abandoned")
    log.add(100, "work_item.queued", conversation=2, work_item_id=2, queue_id=7)
    log.add(110, "conversation.assigned", conversation=2, work_item_id=2, assignee_id=5)
    log.add(120, "work_item.queued", conversation=3, work_item_id=3, queue_id=7)
    log.add(130, "conversation.resolved", conversation=3)
    log.add(130, "work_item.ended", conversation=3, work_item_id=3, status="cancelled")
    records = build_records(
        log.events, item_ids=[1, 2, 3], channels={1: "voice"}, wrap_ups={}, until=at(200)
    )
    left, held, cancelled = records[1], records[2], records[3]
    assert (left.channel, left.queue, left.abandoned_at, left.answered_at) == (
        "voice",
        "7",
        at(40),
        None,
    )
    assert (held.agent, held.answered_at, held.handle_s) == ("5", at(110), 90)
    assert (cancelled.answered_at, cancelled.abandoned_at, cancelled.resolved_at) == (
        None,
        None,
        at(130),
    )


def test_only_the_asked_work_items_are_built() -> None:
    log = Log()
    log.add(0, "work_item.queued", work_item_id=1, queue_id=7)
    log.add(50, "work_item.queued", work_item_id=2, queue_id=7)
    log.add(60, "message.created", actor=5)
    records = build_records(log.events, item_ids=[2], channels={}, wrap_ups={}, until=at(99))
    assert list(records) == [2]
    assert records[2].first_response_at == at(60)


def test_presence_spans_start_from_the_state_before_the_period() -> None:
    log = Log()
    log.add(600, "agent.presence.changed", None, user_id=5, presence="wrap_up")
    log.add(660, "agent.presence.changed", None, user_id=5, presence="available")
    log.add(3000, "agent.presence.changed", None, user_id=5, presence="away")
    log.add(1800, "agent.presence.changed", None, user_id=6, presence="available")
    spans = presence_spans({5: "available", 6: "offline"}, log.events, at(0), at(7200))
    assert wrap_up_periods(spans) == {5: [(at(600), at(660))]}
    total = available_seconds(spans)[""]
    assert total == {"5": 3000, "6": 7200 - 1800}
    by_hour = available_seconds(spans, lambda t: t.strftime("%H"))
    assert by_hour == {"09": {"5": 3000, "6": 1800}, "10": {"6": 3600}}


def test_presence_outside_the_period_is_ignored() -> None:
    log = Log()
    log.add(-10, "agent.presence.changed", None, user_id=5, presence="away")
    log.add(100, "agent.presence.changed", None, user_id=5, presence="nonsense-but-a-string")
    spans = presence_spans({5: "available"}, log.events, at(0), at(50))
    assert [(s.presence, s.start, s.end) for s in spans] == [("available", at(0), at(50))]
    assert available_seconds(spans)[""] == {"5": pytest.approx(50)}
