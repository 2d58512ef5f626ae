"""Event rules through the HTTP API: saving (and refusing), triggering, acting, loop
protection, once per conversation, the audit of rule runs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.automation.rules.conftest import Desk
from tests.conftest import make_tenant, make_user

REFUND = {"field": "message.body", "op": "contains", "value": "refund"}


async def test_a_message_received_rule_tags_and_prioritises(desk: Desk) -> None:
    rule = await desk.rule(
        name="Refunds are urgent",
        conditions={"all": [REFUND]},
        actions=[
            {"type": "add_tags", "tags": ["refund"]},
            {"type": "set_priority", "priority": "urgent"},
        ],
    )
    refund = await desk.customer_writes("I want a REFUND now", message_id="m1")
    other = await desk.customer_writes("Hello", message_id="m2", email="bob@example.com")
    await desk.drain()

    changed = await desk.get(refund)
    assert changed["tags"] == ["refund"]
    assert changed["priority"] == "urgent"
    untouched = await desk.get(other)
    assert untouched["tags"] == []
    assert untouched["priority"] == "normal"
    # The change is the rule's: no user, and the cause says which rule on which event.
    tagged, prioritised = await desk.events("conversation.updated")
    assert tagged.data["changes"]["tags"]["to"] == ["refund"]
    assert prioritised.data["changes"]["priority"]["to"] == "urgent"
    assert tagged.actor_user_id is None
    assert tagged.data["cause"] == prioritised.data["cause"]
    cause = tagged.data["cause"]
    assert cause["actor"] == "automation"
    assert cause["rule_id"] == rule["id"]
    assert cause["depth"] == 1
    [received] = [e for e in await desk.events("message.received") if e.conversation_id == refund]
    assert cause["event_id"] == received.id
    [run] = await desk.runs(rule["id"])
    assert run["outcome"] == "done"
    assert run["conversation_id"] == refund
    assert [d["type"] for d in run["detail"]["done"]] == ["add_tags", "set_priority"]


async def test_each_trigger_runs_only_its_rules(desk: Desk) -> None:
    contact_id = (await desk.call("GET", "/api/v1/contacts"))["items"]
    assert contact_id == []
    team = await desk.call("POST", "/api/v1/teams", json={"name": "Billing"}, expect=201)
    triggers = [
        "conversation.created",
        "conversation.assigned",
        "conversation.status_changed",
        "conversation.resolved",
        "message.created",
        "message.received",
    ]
    rules = {
        trigger: await desk.rule(
            name=trigger,
            triggers=[trigger],
            actions=[{"type": "add_note", "body": f"seen {trigger}"}],
        )
        for trigger in triggers
    }
    conversation = await desk.customer_writes("Hello", message_id="t1")  # created + received
    await desk.drain()
    url = f"/api/v1/conversations/{conversation}"
    await desk.call("PATCH", url, json={"team_id": team["id"]})  # assigned
    await desk.call("POST", f"{url}/messages", json={"body": "Hi!"}, expect=201)  # message sent
    await desk.call("PATCH", url, json={"status": "pending"})  # status changed
    await desk.call("PATCH", url, json={"status": "resolved"})  # resolved
    await desk.drain()
    for trigger, rule in rules.items():
        runs = await desk.runs(rule["id"])
        assert [r["outcome"] for r in runs] == ["done"], trigger
    # The notes the rules wrote are on the conversation, one per trigger.
    messages = await desk.call("GET", f"{url}/messages")
    notes = sorted(m["body"] for m in messages["items"] if m["kind"] == "note")
    assert notes == sorted(f"seen {t}" for t in triggers)


async def test_an_sla_breach_runs_its_rules(desk: Desk) -> None:
    await desk.call(
        "POST",
        "/api/v1/sla/policies",
        json={"name": "Fast", "targets": {"normal": {"first_response_s": 60}}},
        expect=201,
    )
    rule = await desk.rule(
        triggers=["sla.breached"],
        actions=[
            {"type": "set_priority", "priority": "high"},
            {"type": "add_tags", "tags": ["late"]},
        ],
    )
    conversation = await desk.customer_writes("Anyone?", message_id="s1")
    await desk.drain()
    desk.clock.advance(3600)
    await desk.drain()
    found = await desk.get(conversation)
    assert found["priority"] == "high"
    assert found["tags"] == ["late"]
    assert [r["outcome"] for r in await desk.runs(rule["id"])] == ["done"]


async def test_a_rule_that_would_trigger_itself_is_stopped_and_reported(desk: Desk) -> None:
    # Every update adds a tag, which is an update: without protection, forever.
    rule = await desk.rule(
        name="Tag everything",
        triggers=["conversation.updated"],
        actions=[{"type": "add_tags", "tags": ["seen"]}],
    )
    conversation = await desk.customer_writes("Hello", message_id="l1")
    await desk.call("PATCH", f"/api/v1/conversations/{conversation}", json={"subject": "Help"})
    await desk.drain()  # fails the test if jobs keep coming

    assert (await desk.get(conversation))["tags"] == ["seen"]
    outcomes = [r["outcome"] for r in await desk.runs(rule["id"])]
    assert sorted(outcomes) == ["done", "loop_stopped"]
    [stopped] = await desk.events("automation.loop_stopped")
    assert stopped.audience == "supervisors"
    assert stopped.data["rules"] == [rule["id"], rule["id"]]
    assert "its own actions" in stopped.data["reason"]


async def test_a_chain_of_distinct_rules_stops_at_the_depth_bound(desk: Desk) -> None:
    # Rule i reacts to tag i-1 being added and adds tag i: a chain of 7 rules.
    ids = []
    for i in range(7):
        ids.append(
            (
                await desk.rule(
                    name=f"step {i}",
                    triggers=["conversation.updated"] if i else ["conversation.created"],
                    conditions={
                        "all": [
                            {"field": "conversation.tags", "op": "contains", "value": f"t{i - 1}"},
                            {"field": "conversation.tags", "op": "not_contains", "value": f"t{i}"},
                        ]
                    }
                    if i
                    else {"all": []},
                    actions=[{"type": "add_tags", "tags": [f"t{i}"]}],
                )
            )["id"]
        )
    conversation = await desk.customer_writes("Hello", message_id="c1")
    await desk.drain()
    tags = (await desk.get(conversation))["tags"]
    assert tags == ["t0", "t1", "t2", "t3", "t4"]  # five steps, then stopped
    [stopped] = await desk.events("automation.loop_stopped")
    assert stopped.data["rules"] == ids[:6]
    assert "5 steps" in stopped.data["reason"]


async def test_once_per_conversation(desk: Desk) -> None:
    rule = await desk.rule(
        once_per_conversation=True,
        actions=[{"type": "add_note", "body": "First contact: {{contact.first_name}}"}],
    )
    conversation = await desk.customer_writes("one", message_id="o1")
    await desk.customer_writes("two", message_id="o2")
    await desk.drain()
    await desk.customer_writes("three", message_id="o3")
    await desk.drain()
    runs = await desk.runs(rule["id"])
    assert len(runs) == 1
    messages = await desk.call("GET", f"/api/v1/conversations/{conversation}/messages")
    notes = [m["body"] for m in messages["items"] if m["kind"] == "note"]
    assert notes == ["First contact: Carla"]


async def test_a_job_run_twice_acts_once(desk: Desk) -> None:
    from omnidesk.automation import engine

    rule = await desk.rule(actions=[{"type": "add_note", "body": "noted"}])
    conversation = await desk.customer_writes("hello", message_id="i1")
    await desk.drain()
    [received] = await desk.events("message.received")
    async with desk.container.db.transaction() as session:  # at least once: again
        assert await engine.run_event(session, desk.clock, received.id) == []
    messages = await desk.call("GET", f"/api/v1/conversations/{conversation}/messages")
    assert [m["body"] for m in messages["items"] if m["kind"] == "note"] == ["noted"]
    assert len(await desk.runs(rule["id"])) == 1


async def test_a_failing_rule_changes_nothing_and_others_still_run(desk: Desk) -> None:
    queue = await desk.call("POST", "/api/v1/routing/queues", json={"name": "VIP"}, expect=201)
    failing = await desk.rule(
        name="tag then transfer",
        actions=[
            {"type": "add_tags", "tags": ["vip"]},
            {"type": "put_in_queue", "queue_id": queue["id"]},  # not in routing: 409
        ],
    )
    fine = await desk.rule(name="note", actions=[{"type": "add_note", "body": "ok"}])
    conversation = await desk.customer_writes("hello", message_id="f1")
    await desk.drain()
    assert (await desk.get(conversation))["tags"] == []
    [run] = await desk.runs(failing["id"])
    assert run["outcome"] == "failed"
    assert "routing" in run["detail"]["error"]
    assert [r["outcome"] for r in await desk.runs(fine["id"])] == ["done"]


async def test_stop_processing_and_order(desk: Desk) -> None:
    first = await desk.rule(name="first", actions=[{"type": "add_tags", "tags": ["a"]}])
    second = await desk.rule(
        name="second", stop_processing=True, actions=[{"type": "add_tags", "tags": ["b"]}]
    )
    await desk.call(
        "PUT", "/api/v1/automation/rules/order", json={"rule_ids": [second["id"], first["id"]]}
    )
    conversation = await desk.customer_writes("hello", message_id="p1")
    await desk.drain()
    assert (await desk.get(conversation))["tags"] == ["b"]
    listed = await desk.call("GET", "/api/v1/automation/rules")
    assert [r["id"] for r in listed] == [second["id"], first["id"]]


async def test_disabled_rules_do_not_run(desk: Desk) -> None:
    rule = await desk.rule(actions=[{"type": "add_tags", "tags": ["x"]}])
    await desk.call("PATCH", f"/api/v1/automation/rules/{rule['id']}", json={"enabled": False})
    conversation = await desk.customer_writes("hello", message_id="d1")
    await desk.drain()
    assert (await desk.get(conversation))["tags"] == []
    await desk.call("PATCH", f"/api/v1/automation/rules/{rule['id']}", json={"enabled": True})
    await desk.customer_writes("again", message_id="d2")
    await desk.drain()
    assert (await desk.get(conversation))["tags"] == ["x"]


async def test_every_action_has_its_effect(desk: Desk) -> None:
    team = await desk.call("POST", "/api/v1/teams", json={"name": "Billing"}, expect=201)
    # Conversation fields are typed: the one the rule sets is defined.
    await desk.call(
        "POST",
        "/api/v1/attribute-definitions",
        json={"key": "plan", "label": "Plan", "type": "text", "applies_to": "conversation"},
        expect=201,
    )
    agent, _ = await make_user(desk.client, desk.tenant, "agent", "Ann Agent")
    canned = await desk.call(
        "POST",
        "/api/v1/canned-responses",
        json={
            "scope": "account",
            "shortcut": "hi",
            "title": "Hi",
            "body": "Hello {{contact.first_name}}, we are on it.",
        },
        expect=201,
    )
    await desk.rule(
        actions=[
            {"type": "set_custom_fields", "fields": {"plan": "gold"}},
            {"type": "assign_team", "team_id": team["id"]},
            {"type": "assign_agent", "user_id": agent["id"]},
            {"type": "send_reply", "canned_response_id": canned["id"]},
            {"type": "add_tags", "tags": ["b", "a"]},
            {"type": "remove_tags", "tags": ["b"]},
            {"type": "snooze", "minutes": 60},
        ]
    )
    conversation = await desk.customer_writes("hello", message_id="e1")
    await desk.drain()
    found = await desk.get(conversation)
    assert found["custom_fields"] == {"plan": "gold"}
    assert found["team_id"] == team["id"]
    assert found["assignee_id"] == agent["id"]
    assert found["tags"] == ["a"]
    assert found["status"] == "snoozed"
    assert found["snoozed_until"].startswith("2026-01-05T10:00:00")
    messages = await desk.call("GET", f"/api/v1/conversations/{conversation}/messages")
    [reply] = [m for m in messages["items"] if m["direction"] == "outbound"]
    assert reply["body"] == "Hello Carla, we are on it."
    assert reply["sender_type"] == "system"


BAD: list[tuple[dict[str, Any], str]] = [
    ({"triggers": ["message.exploded"]}, "triggers.0"),
    (
        {"conditions": {"all": [{"field": "conversation.colour", "op": "eq", "value": "red"}]}},
        "conditions.all.0.field",
    ),
    (
        {"conditions": {"field": "conversation.priority", "op": "eq", "value": 3}},
        "conditions.value",
    ),
    (
        {"conditions": {"field": "message.body", "op": "matches", "value": "(unclosed"}},
        "conditions.value",
    ),
    (
        {"conditions": {"field": "message.body", "op": "matches", "value": "(a+)+$"}},
        "conditions.value",
    ),
    ({"actions": [{"type": "add_tags", "tags": ["ok"]}, {"type": "explode"}]}, "actions.1.type"),
    ({"actions": [{"type": "set_priority", "priority": "whenever"}]}, "actions.0.priority"),
    ({"actions": [{"type": "add_tags", "tags": "vip"}]}, "actions.0.tags"),
    ({"actions": [{"type": "add_note", "body": "Hi {{contact.shoe_size}}"}]}, "actions.0.body"),
    ({"actions": [{"type": "snooze", "minutes": 0}]}, "actions.0.minutes"),
    ({"actions": [{"type": "assign_team", "team_id": 999999}]}, "actions.0.team_id"),
    ({"actions": [{"type": "call_webhook", "url": "ftp://example.com/x"}]}, "actions.0.url"),
]


@pytest.mark.parametrize(("change", "field"), BAD)
async def test_bad_definitions_are_refused_with_the_path(
    desk: Desk, change: dict[str, Any], field: str
) -> None:
    body = {
        "name": "bad",
        "triggers": ["message.received"],
        "actions": [{"type": "add_tags", "tags": ["x"]}],
    } | change
    error = await desk.call("POST", "/api/v1/automation/rules", json=body, expect=422)
    assert error["field"] == field, error
    # The same is refused when changing a saved rule.
    rule = await desk.rule(actions=[{"type": "add_tags", "tags": ["x"]}])
    error = await desk.call(
        "PATCH", f"/api/v1/automation/rules/{rule['id']}", json=change, expect=422
    )
    assert error["field"] == field, error


async def test_another_accounts_rows_are_out_of_reach(desk: Desk) -> None:
    other = await make_tenant(desk.container.db, "Globex")
    team = await desk.call(
        "POST", "/api/v1/teams", json={"name": "Theirs"}, expect=201, headers=other.headers
    )
    queue = await desk.call(
        "POST",
        "/api/v1/routing/queues",
        json={"name": "Theirs"},
        expect=201,
        headers=other.headers,
    )
    theirs = await desk.call(
        "POST",
        "/api/v1/automation/rules",
        json={
            "name": "x",
            "triggers": ["message.received"],
            "actions": [{"type": "add_tags", "tags": ["x"]}],
        },
        expect=201,
        headers=other.headers,
    )
    for action, field in [
        ({"type": "assign_team", "team_id": team["id"]}, "actions.0.team_id"),
        ({"type": "put_in_queue", "queue_id": queue["id"]}, "actions.0.queue_id"),
        ({"type": "assign_agent", "user_id": other.admin_id}, "actions.0.user_id"),
    ]:
        error = await desk.call(
            "POST",
            "/api/v1/automation/rules",
            json={"name": "x", "triggers": ["message.received"], "actions": [action]},
            expect=422,
        )
        assert error["field"] == field
    await desk.call("GET", f"/api/v1/automation/rules/{theirs['id']}", expect=404)
    await desk.call("PATCH", f"/api/v1/automation/rules/{theirs['id']}", json={}, expect=404)
    await desk.call("DELETE", f"/api/v1/automation/rules/{theirs['id']}", expect=404)
    await desk.call(
        "POST", "/api/v1/automation/rules/dry-run", json={"rule_id": theirs["id"]}, expect=404
    )
    # Their rule never runs on our conversations, nor ours on theirs.
    await desk.customer_writes("hello", message_id="x1")
    await desk.drain()
    assert await desk.runs() == []


async def test_roles(desk: Desk) -> None:
    _, supervisor = await make_user(desk.client, desk.tenant, "supervisor")
    _, agent = await make_user(desk.client, desk.tenant, "agent")
    rule = await desk.rule(actions=[{"type": "add_tags", "tags": ["x"]}])
    body = {
        "name": "x",
        "triggers": ["message.received"],
        "actions": [{"type": "add_tags", "tags": ["x"]}],
    }
    await desk.call("GET", "/api/v1/automation/rules", headers=supervisor)
    await desk.call("GET", f"/api/v1/automation/rules/{rule['id']}", headers=supervisor)
    await desk.call("POST", "/api/v1/automation/rules", json=body, expect=403, headers=supervisor)
    await desk.call("GET", "/api/v1/automation/rules", expect=403, headers=agent)
    await desk.call(
        "DELETE", f"/api/v1/automation/rules/{rule['id']}", expect=403, headers=supervisor
    )
    await desk.call("DELETE", f"/api/v1/automation/rules/{rule['id']}", expect=204)


async def test_the_trigger_events_of_one_transaction_share_one_job(desk: Desk) -> None:
    from sqlalchemy import select

    from omnidesk.jobs.models import Job

    created = await desk.rule(triggers=["conversation.created"], actions=[
        {"type": "add_tags", "tags": ["new"]}])  # fmt: skip
    received = await desk.rule(actions=[{"type": "add_note", "body": "got it"}])
    conversation = await desk.customer_writes("hello", message_id="j1")  # both events
    async with desk.container.db.transaction() as session:
        [job] = (await session.scalars(select(Job).where(Job.kind == "automation.run"))).all()
    assert len(job.payload["event_ids"]) == 2
    await desk.drain()
    assert (await desk.get(conversation))["tags"] == ["new"]
    assert len(await desk.runs(created["id"])) == 1
    assert len(await desk.runs(received["id"])) == 1
