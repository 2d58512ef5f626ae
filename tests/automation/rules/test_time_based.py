"""Time-based rules through the HTTP API on a frozen clock: waits in wall and business time,
restarted and stopped by the events that concern them, one durable timer per waiting
conversation (no scanning), and business-hours conditions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from omnidesk.automation import waits
from omnidesk.events.models import Event
from omnidesk.jobs.models import Job
from tests.automation.rules.conftest import START, Desk
from tests.conftest import make_tenant

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
OFFICE = {
    day: [{"start": "09:00", "end": "17:00"}]
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}
AGENT_WROTE = {
    "all": [
        {"field": "message.direction", "op": "eq", "value": "outbound"},
        {"field": "conversation.status", "op": "in", "value": ["open", "pending"]},
    ]
}


async def _office(desk: Desk, **headers: Any) -> dict[str, Any]:
    hours: dict[str, Any] = await desk.call(
        "POST",
        "/api/v1/routing/business-hours",
        json={"name": "Office", "timezone": "UTC", "weekly": OFFICE},
        expect=201,
        **headers,
    )
    return hours


async def _timers(desk: Desk, rule_id: int) -> list[Job]:
    """The rule's pending timers, whichever conversation."""
    async with desk.container.db.transaction() as session:
        rows = await session.scalars(
            select(Job).where(
                Job.kind == waits.WAKE_JOB,
                Job.status == "pending",
                Job.idempotency_key.startswith(f"automation.wait:{rule_id}:"),
            )
        )
        return list(rows)


async def _advance_to(desk: Desk, at: datetime) -> None:
    desk.clock.advance(at - desk.clock.now())
    await desk.drain()


async def _resolve_after_7_days(desk: Desk) -> dict[str, Any]:
    """No customer reply for 7 days after the agent's message: resolve."""
    return await desk.rule(
        name="Resolve after 7 days without the customer",
        triggers=["message.created", "message.received"],
        conditions=AGENT_WROTE,
        wait={"amount": 7, "unit": "days"},
        actions=[{"type": "set_status", "status": "resolved"}],
    )


async def _status(desk: Desk, conversation: int, status: str) -> None:
    url = f"/api/v1/conversations/{conversation}"
    await desk.call("PATCH", url, json={"status": status})
    await desk.drain()


async def test_pending_for_48_business_hours_reminds_the_customer(desk: Desk) -> None:
    office = await _office(desk)
    rule = await desk.rule(
        name="Remind after 48 business hours pending",
        triggers=["conversation.status_changed"],
        conditions={"field": "conversation.status", "op": "eq", "value": "pending"},
        wait={"amount": 48, "unit": "hours", "business_hours_id": office["id"]},
        actions=[
            {"type": "send_reply", "body": "Do you still need help with this?"},
            {"type": "add_tags", "tags": ["reminded"]},
        ],
    )
    assert rule["wait"] == {"amount": 48, "unit": "hours", "business_hours_id": office["id"]}
    waiting = await desk.customer_writes("My parcel is late", message_id="p1")
    reopened = await desk.customer_writes("Wrong size", message_id="p2", email="b@example.com")
    await desk.drain()
    desk.clock.advance(HOUR)  # Monday 10:00
    await _status(desk, waiting, "pending")
    await _status(desk, reopened, "pending")

    # 48 hours of a 9-to-5 week: Monday 10:00 + 6 working days = the next Tuesday 10:00.
    due = START + 8 * DAY + HOUR
    timers = await _timers(desk, rule["id"])
    assert sorted(t.payload["conversation_id"] for t in timers) == sorted([waiting, reopened])
    assert {t.due_at for t in timers} == {due}

    desk.clock.advance(DAY)
    await _status(desk, reopened, "open")  # the wait of this one stops
    [timer] = await _timers(desk, rule["id"])
    assert timer.payload["conversation_id"] == waiting

    await _advance_to(desk, due - timedelta(minutes=1))
    assert (await desk.get(waiting))["tags"] == []
    await _advance_to(desk, due)
    assert (await desk.get(waiting))["tags"] == ["reminded"]
    messages = await desk.call("GET", f"/api/v1/conversations/{waiting}/messages")
    assert messages["items"][-1]["body"] == "Do you still need help with this?"
    [run] = await desk.runs(rule["id"])
    assert (run["outcome"], run["conversation_id"]) == ("done", waiting)
    assert (await desk.get(reopened))["tags"] == []
    assert await _timers(desk, rule["id"]) == []


async def test_no_customer_reply_for_7_days_resolves(desk: Desk) -> None:
    rule = await _resolve_after_7_days(desk)
    conversation = await desk.customer_writes("How do I export?", message_id="e1")
    url = f"/api/v1/conversations/{conversation}"
    desk.clock.advance(HOUR)
    await desk.call("POST", f"{url}/messages", json={"body": "Settings > Export."}, expect=201)
    await desk.drain()
    [timer] = await _timers(desk, rule["id"])
    assert timer.due_at == START + HOUR + 7 * DAY

    # An internal note is not a reply, and the customer never sees it: the wait goes on.
    desk.clock.advance(HOUR)
    await desk.call("POST", f"{url}/messages", json={"body": "fyi", "private": True}, expect=201)
    await desk.drain()
    assert [t.due_at for t in await _timers(desk, rule["id"])] == [START + HOUR + 7 * DAY]

    # The customer answers on day 3: the wait stops; the agent answers on day 4: it restarts.
    await _advance_to(desk, START + 3 * DAY)
    await desk.customer_writes("It is greyed out", message_id="e2")
    await desk.drain()
    assert await _timers(desk, rule["id"]) == []
    await _advance_to(desk, START + 4 * DAY)
    await desk.call("POST", f"{url}/messages", json={"body": "Ask your admin."}, expect=201)
    await desk.drain()
    [timer] = await _timers(desk, rule["id"])  # one timer, moved: nothing to scan
    assert timer.due_at == START + 11 * DAY

    await _advance_to(desk, START + 11 * DAY - timedelta(seconds=1))
    assert (await desk.get(conversation))["status"] == "open"
    await _advance_to(desk, START + 11 * DAY)
    assert (await desk.get(conversation))["status"] == "resolved"
    [run] = await desk.runs(rule["id"])
    assert run["outcome"] == "done"
    [resolved] = await desk.events("conversation.resolved")
    assert resolved.data["cause"]["rule_id"] == rule["id"]


async def test_a_wait_ending_looks_at_the_latest_event_not_the_one_that_started_it(
    desk: Desk,
) -> None:
    """Jobs may run out of order: a stale timer from the agent's message, started after
    the customer's reply was handled, must not resolve the conversation."""
    rule = await _resolve_after_7_days(desk)
    conversation = await desk.customer_writes("Hi", message_id="s1")
    url = f"/api/v1/conversations/{conversation}"
    await desk.call("POST", f"{url}/messages", json={"body": "Hello!"}, expect=201)
    await desk.drain()
    desk.clock.advance(DAY)
    await desk.customer_writes("Still broken", message_id="s2")
    await desk.drain()
    assert await _timers(desk, rule["id"]) == []
    # The agent's event's job, run late, starts the wait again.
    [agent_wrote] = await desk.events("message.created")
    async with desk.container.db.transaction() as session:
        event = await session.get(Event, agent_wrote.id)
        assert event is not None
        await waits.start(session, desk.clock, event, rule["id"], waits.Wait(7 * DAY))
    await _advance_to(desk, START + 8 * DAY)
    assert (await desk.get(conversation))["status"] == "open"
    assert await desk.runs(rule["id"]) == []


async def test_once_per_conversation_and_rule_changes(desk: Desk) -> None:
    rule = await desk.rule(
        triggers=["conversation.status_changed"],
        conditions={"field": "conversation.status", "op": "eq", "value": "pending"},
        wait={"amount": 2, "unit": "hours"},
        once_per_conversation=True,
        actions=[{"type": "add_note", "body": "still pending"}],
    )
    conversation = await desk.customer_writes("Hi", message_id="o1")
    await desk.drain()
    await _status(desk, conversation, "pending")
    await _advance_to(desk, START + 2 * HOUR)
    await _status(desk, conversation, "open")
    await _status(desk, conversation, "pending")
    assert await _timers(desk, rule["id"]) == []  # it has acted on this conversation
    assert len(await desk.runs(rule["id"])) == 1

    # A longer wait saved while a timer runs: the timer moves when it comes due.
    other = await desk.customer_writes("Hello", message_id="o2", email="d@example.com")
    await desk.drain()
    await _status(desk, other, "pending")
    started = desk.clock.now()
    await desk.call(
        "PATCH",
        f"/api/v1/automation/rules/{rule['id']}",
        json={"wait": {"amount": 5, "unit": "hours"}},
    )
    await _advance_to(desk, started + 2 * HOUR)
    [timer] = await _timers(desk, rule["id"])
    assert timer.due_at == started + 5 * HOUR
    # Acting at once again (no wait): the timer comes due and does nothing.
    updated = await desk.call(
        "PATCH", f"/api/v1/automation/rules/{rule['id']}", json={"wait": None}
    )
    assert updated["wait"] is None
    await _advance_to(desk, started + 5 * HOUR)
    assert len(await desk.runs(rule["id"])) == 1


async def test_business_hours_conditions_ask_the_named_calendar(desk: Desk) -> None:
    office = await _office(desk)
    in_hours = {"field": "time.now", "op": "within_business_hours", "value": office["id"]}
    await desk.rule(conditions=in_hours, actions=[{"type": "add_tags", "tags": ["in-hours"]}])
    await desk.rule(
        conditions={"not": in_hours}, actions=[{"type": "add_tags", "tags": ["after-hours"]}]
    )
    monday = await desk.customer_writes("Hi", message_id="b1")  # Monday 09:00
    desk.clock.advance(5 * DAY)  # Saturday
    saturday = await desk.customer_writes("Hi", message_id="b2", email="s@example.com")
    await desk.drain()
    assert (await desk.get(monday))["tags"] == ["in-hours"]
    assert (await desk.get(saturday))["tags"] == ["after-hours"]


async def test_bad_waits_and_calendars_are_refused(desk: Desk) -> None:
    office = await _office(desk)
    other = await make_tenant(desk.container.db, "Globex")
    theirs = await _office(desk, headers=other.headers)
    base = {
        "name": "x",
        "triggers": ["message.received"],
        "actions": [{"type": "add_tags", "tags": ["x"]}],
    }
    for wait, status, field in [
        ({"amount": 2, "unit": "days", "business_hours_id": office["id"]}, 422, "wait"),
        ({"amount": 0, "unit": "hours"}, 422, "wait.amount"),
        ({"amount": 3, "unit": "fortnights"}, 422, "wait.unit"),
        ({"amount": 400, "unit": "days"}, 422, "wait"),
        ({"amount": 3, "unit": "hours", "colour": "red"}, 422, "wait.colour"),
        (
            {"amount": 3, "unit": "hours", "business_hours_id": theirs["id"]},
            404,
            "wait.business_hours_id",
        ),
    ]:
        error = await desk.call(
            "POST", "/api/v1/automation/rules", json=base | {"wait": wait}, expect=status
        )
        assert error["field"] == field, (wait, error)
    leaf = {"field": "time.now", "op": "within_business_hours", "value": theirs["id"]}
    error = await desk.call(
        "POST",
        "/api/v1/automation/rules",
        json=base | {"conditions": {"all": [leaf]}},
        expect=404,
    )
    assert error["field"] == "conditions.all.0.value"


async def test_the_dry_run_says_when_a_time_based_rule_would_act(desk: Desk) -> None:
    conversation = await desk.customer_writes("Hi", message_id="d1")
    await desk.drain()
    await _status(desk, conversation, "pending")
    result = await desk.call(
        "POST",
        "/api/v1/automation/rules/dry-run",
        json={
            "rule": {
                "name": "x",
                "triggers": ["conversation.status_changed"],
                "conditions": {"field": "conversation.status", "op": "eq", "value": "pending"},
                "wait": {"amount": 3, "unit": "hours"},
                "actions": [{"type": "add_tags", "tags": ["x"]}],
            }
        },
    )
    [match] = result["matches"]
    assert match["conversation_id"] == conversation
    assert datetime.fromisoformat(match["acts_at"]) == START + 3 * HOUR
