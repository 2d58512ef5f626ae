"""SLA clocks on conversations: started, met, paused and resumed by the conversation's
changes; warned and breached once by durable timers run by the job runner on a fake clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from omnidesk.jobs.models import Job
from omnidesk.sla import service as sla
from tests.conversations.conftest import MakeContact
from tests.sla.conftest import START, Desk

MINUTE = 60
HOUR = 3600


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def test_a_new_conversation_gets_its_policys_targets(
    desk: Desk, make_contact: MakeContact
) -> None:
    policy = await desk.policy(
        targets={
            "normal": {"first_response_s": HOUR, "resolution_s": 8 * HOUR},
            "urgent": {"first_response_s": 15 * MINUTE},
        }
    )
    cid = await desk.conversation(await make_contact(desk.tenant))
    sla_block = (await desk.get(cid))["sla"]
    assert sla_block["policy_id"] == policy["id"]
    first, resolution = sla_block["targets"]
    assert (first["kind"], first["state"], first["remaining_s"]) == ("first_response", "ok", HOUR)
    assert first["due_at"] == iso(START + timedelta(hours=1))
    assert resolution["due_at"] == iso(START + timedelta(hours=8))
    # Without a matching policy, no SLA.
    other = await desk.call(
        "POST",
        "/api/v1/conversations",
        json={"contact_id": await make_contact(desk.tenant), "priority": "low"},
        expect=201,
    )
    assert other["sla"] is None


async def test_the_first_agent_reply_meets_the_first_response_and_a_note_does_not(
    desk: Desk, make_contact: MakeContact
) -> None:
    await desk.policy(targets={"normal": {"first_response_s": HOUR}})
    cid = await desk.conversation(await make_contact(desk.tenant))
    desk.clock.advance(10 * MINUTE)
    await desk.call(
        "POST",
        f"/api/v1/conversations/{cid}/messages",
        json={"body": "hm", "private": True},
        expect=201,
    )
    assert (await desk.target(cid, "first_response"))["state"] == "ok"
    desk.clock.advance(10 * MINUTE)
    await desk.reply(cid)
    target = await desk.target(cid, "first_response")
    assert target["state"] == "achieved"
    assert target["remaining_s"] == 40 * MINUTE
    assert target["achieved_at"] == iso(START + timedelta(minutes=20))
    [achieved] = await desk.events("sla.achieved")
    assert achieved.data["kind"] == "first_response"
    assert achieved.data["on_time"] is True
    # Its timer is gone: nothing fires later.
    desk.clock.advance(2 * HOUR)
    await desk.jobs.run_once()
    assert await desk.events("sla.breached") == []


async def test_warning_then_breach_fire_once_each_even_when_the_timer_job_runs_twice(
    desk: Desk, make_contact: MakeContact
) -> None:
    await desk.policy(targets={"normal": {"first_response_s": HOUR}}, warning_percent=75)
    cid = await desk.conversation(await make_contact(desk.tenant))
    desk.clock.advance(44 * MINUTE)
    await desk.jobs.run_once()
    assert await desk.events("sla.warning") == []
    desk.clock.advance(MINUTE)
    await desk.jobs.run_once()
    [warning] = await desk.events("sla.warning")
    assert warning.conversation_id == cid
    assert (await desk.target(cid, "first_response"))["state"] == "warning"
    desk.clock.advance(15 * MINUTE)
    await desk.jobs.run_once()
    [breached] = await desk.events("sla.breached")
    assert breached.data["kind"] == "first_response"
    target = await desk.target(cid, "first_response")
    assert target["state"] == "breached"
    assert target["breached_at"] == iso(START + timedelta(hours=1))
    # The timer's job delivered again (at least once): nothing fires a second time.
    async with desk.container.db.transaction() as session:
        clock_id = int(breached.data["clock_id"])
        assert await sla.check(session, desk.clock, clock_id) == []
        jobs = (await session.scalars(select(Job).where(Job.kind == sla.CHECK_JOB))).all()
        for job in jobs:
            job.status, job.due_at = "pending", desk.clock.now()
    desk.clock.advance(HOUR)
    await desk.jobs.run_once()
    assert len(await desk.events("sla.breached")) == 1
    assert len(await desk.events("sla.warning")) == 1
    # Met late: achieved, but it stays breached (and counts so).
    await desk.reply(cid)
    target = await desk.target(cid, "first_response")
    assert target["state"] == "breached"
    assert target["achieved_at"] is not None
    [achieved] = await desk.events("sla.achieved")
    assert achieved.data["on_time"] is False


async def test_pending_and_snoozed_pause_the_clocks_and_reopening_pushes_the_due_time(
    desk: Desk, make_contact: MakeContact
) -> None:
    await desk.policy(targets={"normal": {"first_response_s": HOUR, "resolution_s": 4 * HOUR}})
    cid = await desk.conversation(await make_contact(desk.tenant))
    desk.clock.advance(20 * MINUTE)
    await desk.patch(cid, status="pending")
    target = await desk.target(cid, "first_response")
    assert (target["state"], target["due_at"], target["remaining_s"]) == ("paused", None, 40 * 60)
    desk.clock.advance(3 * HOUR)  # standing still: nothing is due
    await desk.jobs.run_once()
    assert await desk.events("sla.breached") == []
    assert (await desk.target(cid, "first_response"))["remaining_s"] == 40 * MINUTE
    await desk.patch(cid, status="open")
    target = await desk.target(cid, "first_response")
    assert target["state"] == "ok"
    assert target["due_at"] == iso(START + timedelta(hours=4))  # pushed back by 3 hours
    desk.clock.advance(10 * MINUTE)
    until = iso(desk.clock.now() + timedelta(hours=1))
    await desk.patch(cid, status="snoozed", snoozed_until=until)
    assert (await desk.target(cid, "resolution"))["remaining_s"] == 4 * HOUR - 30 * MINUTE
    # The snooze timer wakes the conversation: the clocks run on from there.
    desk.clock.advance(HOUR)
    await desk.jobs.run_once()
    conversation = await desk.get(cid)
    assert conversation["status"] == "open"
    first = await desk.target(cid, "first_response")
    assert first["state"] == "ok"
    assert first["remaining_s"] == 30 * MINUTE
    desk.clock.advance(30 * MINUTE)
    await desk.jobs.run_once()
    assert len(await desk.events("sla.breached")) == 1


async def test_resolving_meets_the_resolution_and_reopening_starts_a_new_one(
    desk: Desk, make_contact: MakeContact
) -> None:
    await desk.policy(targets={"normal": {"first_response_s": HOUR, "resolution_s": 2 * HOUR}})
    cid = await desk.conversation(await make_contact(desk.tenant))
    desk.clock.advance(30 * MINUTE)
    await desk.patch(cid, status="resolved")
    assert (await desk.target(cid, "resolution"))["state"] == "achieved"
    assert (await desk.target(cid, "first_response"))["state"] == "paused"
    desk.clock.advance(HOUR)
    await desk.patch(cid, status="open")
    resolution = await desk.target(cid, "resolution")
    assert resolution["state"] == "ok"
    assert resolution["remaining_s"] == 2 * HOUR
    assert resolution["started_at"] == iso(desk.clock.now())
    assert (await desk.target(cid, "first_response"))["remaining_s"] == 30 * MINUTE


async def test_a_customer_message_after_an_agent_reply_starts_a_next_response_target(
    desk: Desk, make_contact: MakeContact
) -> None:
    await desk.policy(targets={"normal": {"first_response_s": HOUR, "next_response_s": 2 * HOUR}})
    cid = await desk.customer_writes("carla@example.com", "m1")
    assert [t["kind"] for t in (await desk.get(cid))["sla"]["targets"]] == ["first_response"]
    await desk.customer_writes("carla@example.com", "m2")  # before any reply: still the first
    assert [t["kind"] for t in (await desk.get(cid))["sla"]["targets"]] == ["first_response"]
    desk.clock.advance(5 * MINUTE)
    await desk.reply(cid)
    desk.clock.advance(MINUTE)
    assert await desk.customer_writes("carla@example.com", "m3") == cid
    await desk.customer_writes("carla@example.com", "m4")  # one target for both messages
    target = await desk.target(cid, "next_response")
    assert target["state"] == "ok"
    assert target["due_at"] == iso(desk.clock.now() + 2 * timedelta(hours=1))
    desk.clock.advance(30 * MINUTE)
    await desk.reply(cid)
    assert (await desk.target(cid, "next_response"))["state"] == "achieved"
    # The next one is a new target; the report counts both.
    await desk.customer_writes("carla@example.com", "m5")
    assert (await desk.target(cid, "next_response"))["state"] == "ok"


async def test_a_priority_change_re_evaluates_the_targets(
    desk: Desk, make_contact: MakeContact
) -> None:
    await desk.policy(
        targets={
            "normal": {"first_response_s": 4 * HOUR},
            "urgent": {"first_response_s": HOUR, "resolution_s": 2 * HOUR},
        }
    )
    cid = await desk.conversation(await make_contact(desk.tenant))
    desk.clock.advance(30 * MINUTE)
    await desk.patch(cid, priority="urgent")
    first = await desk.target(cid, "first_response")
    assert first["target_s"] == HOUR
    assert first["remaining_s"] == 30 * MINUTE
    assert first["due_at"] == iso(START + timedelta(hours=1))  # the time used stays used
    assert (await desk.target(cid, "resolution"))["remaining_s"] == 2 * HOUR
    desk.clock.advance(45 * MINUTE)  # past the new, shorter target
    await desk.jobs.run_once()
    assert len(await desk.events("sla.breached")) == 1
    await desk.patch(cid, priority="low")  # no target for low: the unfinished one goes
    sla_block = (await desk.get(cid))["sla"]
    assert [t["kind"] for t in sla_block["targets"]] == ["first_response"]
    assert sla_block["targets"][0]["state"] == "breached"


async def test_targets_count_in_the_policys_business_hours(
    desk: Desk, make_contact: MakeContact
) -> None:
    hours = await desk.call(
        "POST",
        "/api/v1/routing/business-hours",
        json={
            "name": "Paris office",
            "timezone": "Europe/Paris",
            "weekly": {
                day: [{"start": "09:00", "end": "17:00"}]
                for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
            },
            "holidays": [{"start": "2026-01-06", "name": "Epiphany (for the test)"}],
        },
        expect=201,
    )
    await desk.policy(
        business_hours_id=hours["id"], targets={"normal": {"first_response_s": 4 * HOUR}}
    )
    # Monday 10:00 in Paris (09:00 UTC): 7 hours left today, Tuesday is a holiday.
    cid = await desk.conversation(await make_contact(desk.tenant))
    target = await desk.target(cid, "first_response")
    assert target["due_at"] == iso(START + timedelta(hours=4))  # 14:00 Paris
    desk.clock.advance(6 * HOUR)  # Monday 16:00 in Paris
    await desk.jobs.run_once()
    assert len(await desk.events("sla.breached")) == 1
    cid2 = await desk.conversation(await make_contact(desk.tenant))
    # 1 hour on Monday, none on Tuesday, 3 on Wednesday: due Wednesday 12:00 Paris.
    assert (await desk.target(cid2, "first_response"))["due_at"] == "2026-01-07T11:00:00Z"
    desk.clock.advance(24 * HOUR)  # Tuesday 16:00: the clock stands still on the holiday
    assert (await desk.target(cid2, "first_response"))["remaining_s"] == 3 * HOUR
    # The calendar cannot be deleted while a policy counts in it.
    await desk.call("DELETE", f"/api/v1/routing/business-hours/{hours['id']}", expect=409)


async def test_the_list_filters_by_sla_state(desk: Desk, make_contact: MakeContact) -> None:
    await desk.policy(
        targets={"normal": {"first_response_s": HOUR}, "high": {"first_response_s": 10 * HOUR}}
    )
    late = await desk.conversation(await make_contact(desk.tenant))
    fine = await desk.conversation(await make_contact(desk.tenant), priority="high")
    paused = await desk.conversation(await make_contact(desk.tenant), priority="high")
    await desk.patch(paused, status="pending")
    desk.clock.advance(2 * HOUR)
    await desk.jobs.run_once()

    async def ids(*states: str) -> set[int]:
        query = "&".join(f"sla_state={s}" for s in states)
        page = await desk.call("GET", f"/api/v1/conversations?{query}")
        return {c["id"] for c in page["items"]}

    assert await ids("breached") == {late}
    assert await ids("ok") == {fine}
    assert await ids("paused", "breached") == {paused, late}
    assert await ids("achieved") == set()
    await desk.call("GET", "/api/v1/conversations?sla_state=late", expect=422)


async def test_the_report_gives_achieved_percent_per_kind(
    desk: Desk, make_contact: MakeContact
) -> None:
    policy = await desk.policy(
        targets={"normal": {"first_response_s": HOUR, "resolution_s": 9 * HOUR}}
    )
    for n in range(4):
        cid = await desk.conversation(await make_contact(desk.tenant))
        if n < 3:
            await desk.reply(cid)
    desk.clock.advance(2 * HOUR)
    await desk.jobs.run_once()
    since, until = iso(START - timedelta(days=1)), iso(START + timedelta(days=1))
    report = await desk.call(
        "GET", f"/api/v1/sla/policies/{policy['id']}/report?since={since}&until={until}"
    )
    kinds = {k["kind"]: k for k in report["kinds"]}
    assert kinds["first_response"] == {
        "kind": "first_response",
        "achieved": 3,
        "breached": 1,
        "running": 0,
        "achieved_percent": 75.0,
    }
    assert kinds["resolution"]["running"] == 4
    assert kinds["resolution"]["achieved_percent"] is None
    assert kinds["next_response"]["achieved_percent"] is None
    empty = await desk.call(
        "GET",
        f"/api/v1/sla/policies/{policy['id']}/report?since={until}&until=2027-01-01T00:00:00Z",
    )
    assert all(k["achieved"] == k["breached"] == k["running"] == 0 for k in empty["kinds"])
    await desk.call(
        "GET", f"/api/v1/sla/policies/{policy['id']}/report?since={until}&until={since}", expect=422
    )
