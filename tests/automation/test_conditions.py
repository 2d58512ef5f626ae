"""The condition language of automation rules: operators, nesting, refusals, properties."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnidesk.automation.conditions import (
    MAX_DEPTH,
    MAX_TEXT_CHARS,
    ConditionIndex,
    ContactFacts,
    ConversationFacts,
    Facts,
    MessageFacts,
    calendars_named,
    compile,
    evaluate,
    explain,
)
from omnidesk.kit.errors import ValidationFailed

NOW = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # a Monday


def facts(**over: Any) -> Facts:
    conv = ConversationFacts(
        status="open",
        priority="high",
        subject="Refund for order 42",
        tags=["Billing", "vip"],
        channel="email",
        inbox_id=3,
        team_id=None,
        assignee_id=7,
        custom={"plan": "Gold", "seats": 12, "trial": False},
    )
    return Facts(
        conversation=over.pop("conversation", conv),
        message=over.pop(
            "message",
            MessageFacts(
                body="Hello, I want a REFUND now",
                direction="inbound",
                private=False,
                language="fr-CA",
            ),
        ),
        contact=over.pop(
            "contact",
            ContactFacts(
                name="Ana Lima",
                email="ana@example.com",
                phone=None,
                attributes={"tier": "gold", "age": 40},
            ),
        ),
        now=over.pop("now", NOW),
        zone=over.pop("zone", ZoneInfo("Europe/Paris")),
        business_hours=over.pop(
            "business_hours", lambda calendar, at: calendar == 1 and 8 <= at.hour < 18
        ),
    )


def check(field: str, op: str, value: Any = None, f: Facts | None = None) -> bool:
    leaf: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        leaf["value"] = value
    return evaluate(compile(leaf), f or facts())


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        # text (case ignored)
        ("conversation.subject", "eq", "refund FOR order 42", True),
        ("conversation.subject", "ne", "other", True),
        ("conversation.subject", "in", ["x", "REFUND for order 42"], True),
        ("conversation.subject", "not_in", ["refund for order 42"], False),
        ("conversation.subject", "contains", "ORDER", True),
        ("conversation.subject", "not_contains", "order", False),
        ("conversation.subject", "starts_with", "refund", True),
        ("conversation.subject", "starts_with", "order", False),
        ("message.body", "matches", r"REFUND\s+now$", True),
        ("message.body", "matches", r"refund now", False),
        ("message.body", "matches", r"(?i)refund now", True),
        ("conversation.channel", "eq", "email", True),
        # enum
        ("conversation.priority", "eq", "high", True),
        ("conversation.priority", "ne", "high", False),
        ("conversation.priority", "in", ["high", "urgent"], True),
        ("conversation.status", "not_in", ["resolved", "closed"], True),
        ("message.direction", "eq", "outbound", False),
        # ids
        ("conversation.inbox_id", "eq", 3, True),
        ("conversation.inbox_id", "in", [1, 2], False),
        ("conversation.assignee_id", "not_in", [1, 2], True),
        ("conversation.assignee_id", "ne", 7, False),
        # bool
        ("message.private", "eq", False, True),
        ("message.private", "ne", False, False),
        # tags
        ("conversation.tags", "contains", "billing", True),
        ("conversation.tags", "not_contains", "spam", True),
        ("conversation.tags", "has_any", ["spam", "VIP"], True),
        ("conversation.tags", "has_all", ["billing", "vip"], True),
        ("conversation.tags", "has_all", ["billing", "spam"], False),
        # language: "fr" matches "fr-CA"
        ("message.language", "eq", "fr", True),
        ("message.language", "eq", "fr-ca", True),
        ("message.language", "eq", "fr-FR", False),
        ("message.language", "in", ["en", "de"], False),
        ("message.language", "not_in", ["en"], True),
        ("message.language", "ne", "fr", False),
        # time in the zone (21:30 UTC = 22:30 in Paris, a Monday)
        ("time.hour", "eq", 22, True),
        ("time.hour", "gte", 18, True),
        ("time.hour", "lt", 22, False),
        ("time.hour", "lte", 22, True),
        ("time.hour", "gt", 22, False),
        ("time.hour", "in", [8, 9], False),
        ("time.weekday", "in", ["mon", "tue"], True),
        ("time.now", "gt", "2026-11-23T21:00:00Z", True),
        ("time.now", "lt", "2026-11-23T22:00:00+01:00", False),
        ("time.now", "gte", "2026-11-23T21:30:00+00:00", True),
        ("time.now", "lte", "2026-11-23T21:29:00+00:00", False),
        ("time.now", "within_business_hours", 1, False),  # 21:30 UTC: closed
        # custom fields and contact attributes
        ("conversation.custom.plan", "eq", "gold", True),
        ("conversation.custom.plan", "starts_with", "go", True),
        ("conversation.custom.plan", "contains", "ol", True),
        ("conversation.custom.plan", "not_contains", "ol", False),
        ("conversation.custom.plan", "matches", "^G", True),
        ("conversation.custom.seats", "gt", 10, True),
        ("conversation.custom.seats", "eq", 12, True),
        ("conversation.custom.seats", "in", [1, 12], True),
        ("conversation.custom.seats", "contains", "1", False),
        ("conversation.custom.trial", "eq", False, True),
        ("conversation.custom.trial", "eq", 0, False),
        ("conversation.custom.plan", "gt", 1, False),
        ("contact.attribute.tier", "in", ["GOLD"], True),
        ("contact.attribute.age", "lte", 40, True),
        ("contact.email", "matches", r"@example\.com$", True),
        ("contact.name", "is_set", None, True),
        ("contact.phone", "is_empty", None, True),
    ],
)
def test_operator(field: str, op: str, value: Any, expected: bool) -> None:
    assert check(field, op, value) is expected


def test_business_hours_asks_the_named_calendar() -> None:
    asked: list[tuple[int, datetime]] = []

    def ask(calendar: int, at: datetime) -> bool:
        asked.append((calendar, at))
        return calendar == 7

    assert check("time.now", "within_business_hours", 7, f=facts(business_hours=ask))
    assert not check("time.now", "within_business_hours", 8, f=facts(business_hours=ask))
    assert asked == [(7, NOW), (8, NOW)]
    assert not check("time.now", "within_business_hours", 7, f=facts(business_hours=None))
    for bad in (None, "7", 0, True, 1.5):
        leaf = {"field": "time.now", "op": "within_business_hours", "value": bad}
        with pytest.raises(ValidationFailed) as refused:
            compile({"all": [leaf]})
        assert refused.value.field == "conditions.all.0.value"
    leaf = {"field": "time.now", "op": "within_business_hours", "value": 7}
    assert calendars_named(compile({"any": [{"not": leaf}]})) == [("conditions.any.0.not.value", 7)]


@pytest.mark.parametrize(
    ("field", "op", "value"),
    [
        ("conversation.team_id", "eq", 1),
        ("conversation.team_id", "ne", 1),
        ("conversation.team_id", "not_in", [1]),
        ("contact.phone", "not_contains", "1"),
        ("contact.phone", "matches", "."),
        ("contact.phone", "is_set", None),
        ("conversation.custom.missing", "ne", "x"),
        ("conversation.custom.missing", "gt", 1),
        ("contact.attribute.missing", "not_in", ["x"]),
        ("message.language", "ne", "en"),
    ],
)
def test_an_unset_field_is_false(field: str, op: str, value: Any) -> None:
    bare = facts(
        conversation=ConversationFacts(),
        message=MessageFacts(),
        contact=ContactFacts(),
    )
    assert check(field, op, value, bare) is False
    # and without a message or contact at all
    assert check(field, op, value, Facts()) is False


def test_is_empty_on_unset_and_blank() -> None:
    bare = facts(conversation=ConversationFacts(subject="  "), message=None, contact=None)
    assert check("conversation.subject", "is_empty", f=bare)
    assert check("conversation.tags", "is_empty", f=bare)
    assert check("message.body", "is_empty", f=bare)
    assert check("contact.attribute.x", "is_empty", f=bare)
    assert not check("conversation.tags", "is_set", f=bare)
    assert check("time.hour", "is_empty", f=Facts())


def test_a_condition_sees_only_the_first_characters_of_a_text() -> None:
    long = facts(message=MessageFacts(body="a" * MAX_TEXT_CHARS + "needle"))
    assert not check("message.body", "contains", "needle", long)
    assert not check("message.body", "matches", "needle", long)
    assert check("message.body", "matches", "^a+$", long)


def test_nesting_and_explain() -> None:
    definition = {
        "all": [
            {"field": "conversation.priority", "op": "in", "value": ["high", "urgent"]},
            {
                "any": [
                    {"field": "message.body", "op": "contains", "value": "invoice"},
                    {"not": {"field": "contact.email", "op": "is_empty"}},
                ]
            },
        ]
    }
    condition = compile(definition)
    assert evaluate(condition, facts())
    result = explain(condition, facts())
    assert result.matched
    assert [(leaf.path, leaf.matched) for leaf in result.leaves] == [
        ("conditions.all.0", True),
        ("conditions.all.1.any.0", False),
        ("conditions.all.1.any.1.not", False),
    ]
    low = facts(conversation=ConversationFacts(priority="low"))
    assert not evaluate(condition, low)
    assert not explain(condition, low).matched


def test_empty_groups() -> None:
    assert evaluate(compile({"all": []}), Facts())
    assert not evaluate(compile({"any": []}), Facts())


@pytest.mark.parametrize(
    ("definition", "path"),
    [
        ({"field": "conversation.mood", "op": "eq", "value": "x"}, "conditions.field"),
        ({"all": [{}, {"field": "x.y", "op": "eq", "value": 1}]}, "conditions.all.0.field"),
        ({"field": "conversation.custom.", "op": "is_set"}, "conditions.field"),
        ({"field": 3, "op": "eq", "value": 1}, "conditions.field"),
        ({"field": "conversation.tags", "op": "eq", "value": "x"}, "conditions.op"),
        ({"field": "message.private", "op": "gt", "value": 1}, "conditions.op"),
        ({"field": "conversation.priority", "op": "matches", "value": "x"}, "conditions.op"),
        (
            {"all": [{"all": []}, {"all": []}, {"field": "time.hour", "op": "gt", "value": "9"}]},
            "conditions.all.2.value",
        ),
        ({"field": "message.private", "op": "eq", "value": 1}, "conditions.value"),
        ({"field": "conversation.inbox_id", "op": "eq", "value": True}, "conditions.value"),
        ({"field": "conversation.subject", "op": "eq", "value": 5}, "conditions.value"),
        ({"field": "conversation.subject", "op": "contains", "value": ""}, "conditions.value"),
        ({"field": "conversation.priority", "op": "eq", "value": "huge"}, "conditions.value"),
        (
            {"field": "conversation.priority", "op": "in", "value": ["high", "huge"]},
            "conditions.value.1",
        ),
        ({"field": "conversation.priority", "op": "in", "value": []}, "conditions.value"),
        ({"field": "conversation.tags", "op": "has_any", "value": "vip"}, "conditions.value"),
        ({"field": "message.language", "op": "eq", "value": "french!"}, "conditions.value"),
        ({"field": "time.now", "op": "gt", "value": "2026-11-23T21:00:00"}, "conditions.value"),
        ({"field": "time.now", "op": "gt", "value": "yesterday"}, "conditions.value"),
        ({"field": "time.hour", "op": "is_set", "value": True}, "conditions.value"),
        ({"field": "time.hour", "op": "eq"}, "conditions.value"),
        ({"field": "time.hour", "op": "eq", "value": float("nan")}, "conditions.value"),
        ({"field": "message.body", "op": "matches", "value": "(unclosed"}, "conditions.value"),
        ({"field": "message.body", "op": "matches", "value": "x" * 501}, "conditions.value"),
        ({"field": "time.hour", "op": "eq", "value": 1, "extra": 1}, "conditions.extra"),
        ({"all": [], "any": []}, "conditions"),
        ({"all": {}}, "conditions.all"),
        ({"not": [1]}, "conditions.not"),
        ([], "conditions"),
    ],
)
def test_refusals_name_the_path(definition: Any, path: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        compile(definition)
    assert caught.value.field == path
    assert caught.value.status_code == 422
    assert caught.value.message


def test_depth_and_size_are_bounded() -> None:
    deep: dict[str, Any] = {"field": "time.hour", "op": "is_set"}
    for _ in range(MAX_DEPTH - 1):
        deep = {"not": deep}
    compile(deep)
    with pytest.raises(ValidationFailed, match="nest"):
        compile({"not": deep})
    wide = {"any": [{"field": "time.hour", "op": "eq", "value": 1}] * 300}
    with pytest.raises(ValidationFailed, match="at most") as caught:
        compile(wide)
    assert caught.value.field == "conditions.any.199"


@pytest.mark.parametrize(
    "pattern",
    [
        "(a+)+$",
        "(a|aa)+$",
        "(.*a){20}",
        "(a*)*b",
        "(x+x+)+y",
        "(a|a)+",
        "(cat|c.t)+",
        "^(\\w+\\s?)*$",
        "(a?){5}",
        "(a)\\1+",
        "((ab)+c)+",
    ],
)
def test_catastrophic_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValidationFailed, match="exponential") as caught:
        compile({"any": [{"field": "message.body", "op": "matches", "value": pattern}]})
    assert caught.value.field == "conditions.any.0.value"


@pytest.mark.parametrize(
    "pattern",
    [
        r"refund|money back",
        r"^\w+@\w+\.com$",
        r"(\d{3}-)+\d{4}",
        r"(cat|dog)+",
        r"(?:a|b)*c",
        r"order #?\d+",
        r"(a++)+$",
        r"(?>a+)+$",
    ],
)
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    compile({"field": "message.body", "op": "matches", "value": pattern})


LEAVES = st.sampled_from(
    [
        {"field": "conversation.status", "op": "eq", "value": "open"},
        {"field": "conversation.channel", "op": "in", "value": ["Email", "sms"]},
        {"field": "conversation.tags", "op": "has_all", "value": ["vip", "billing"]},
        {"field": "conversation.tags", "op": "contains", "value": "VIP"},
        {"field": "conversation.team_id", "op": "in", "value": [1, 2]},
        {"field": "conversation.priority", "op": "in", "value": ["high", "urgent"]},
        {"field": "conversation.tags", "op": "has_any", "value": ["vip"]},
        {"field": "message.body", "op": "contains", "value": "refund"},
        {"field": "contact.email", "op": "is_set"},
        {"field": "time.hour", "op": "lt", "value": 12},
        {"field": "conversation.team_id", "op": "ne", "value": 2},
    ]
)
TREES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(lambda items: {"all": items}),
        st.lists(children, max_size=3).map(lambda items: {"any": items}),
        children.map(lambda child: {"not": child}),
    ),
    max_leaves=6,
)
FACTS = st.builds(
    lambda priority, tags, body, email, hour, team, status, channel: Facts(
        conversation=ConversationFacts(
            priority=priority, tags=tags, team_id=team, status=status, channel=channel
        ),
        message=MessageFacts(body=body),
        contact=ContactFacts(email=email),
        now=datetime(2026, 1, 1, hour, tzinfo=UTC),
    ),
    st.sampled_from([None, "low", "high", "urgent"]),
    st.lists(st.sampled_from(["vip", "billing"]), max_size=2),
    st.sampled_from([None, "", "a refund please", "hello"]),
    st.sampled_from([None, "a@b.c"]),
    st.integers(0, 23),
    st.sampled_from([None, 1, 2]),
    st.sampled_from([None, "open", "closed"]),
    st.sampled_from([None, "email", "SMS", "api"]),
)


def _depth(tree: Any) -> int:
    if "not" in tree:
        return 1 + _depth(tree["not"])
    for key in ("all", "any"):
        if key in tree:
            return 1 + max((_depth(c) for c in tree[key]), default=0)
    return 1


@given(TREES, FACTS)
def test_not_inverts(tree: Any, event: Facts) -> None:
    if _depth(tree) >= MAX_DEPTH:
        return
    assert evaluate(compile({"not": tree}), event) is not evaluate(compile(tree), event)


@given(TREES, FACTS)
def test_compile_is_deterministic_and_explain_agrees(tree: Any, event: Facts) -> None:
    if _depth(tree) > MAX_DEPTH:
        return
    first, second = compile(tree), compile(tree)
    assert first == second
    assert evaluate(first, event) is evaluate(second, event)
    assert explain(first, event).matched is evaluate(first, event)


@given(st.lists(TREES, max_size=4), FACTS)
def test_groups_are_and_and_or(trees: list[Any], event: Facts) -> None:
    if any(_depth(tree) >= MAX_DEPTH for tree in trees):
        return
    results = [evaluate(compile(tree), event) for tree in trees]
    assert evaluate(compile({"all": trees}), event) is all(results)
    assert evaluate(compile({"any": trees}), event) is any(results)


@given(st.lists(TREES, max_size=12), st.lists(FACTS, min_size=1, max_size=3))
def test_the_index_finds_what_evaluating_each_finds(trees: list[Any], events: list[Facts]) -> None:
    conditions = [compile(tree) for tree in trees if _depth(tree) <= MAX_DEPTH]
    index = ConditionIndex(conditions)
    for event in events:
        expected = [i for i, c in enumerate(conditions) if evaluate(c, event)]
        assert index.matching(event) == expected


def test_the_index_files_rules_under_their_values() -> None:
    rules = [
        {"all": [{"field": "conversation.priority", "op": "eq", "value": "urgent"}]},
        {"field": "conversation.channel", "op": "eq", "value": "email"},
        {"all": [{"field": "conversation.tags", "op": "contains", "value": "vip"}]},
        {"any": [{"field": "conversation.subject", "op": "contains", "value": "order"}]},
    ]
    index = ConditionIndex([compile(rule) for rule in rules])
    event = facts(
        conversation=ConversationFacts(priority="high", channel="EMAIL", tags=["VIP"], subject="")
    )
    assert index.matching(event) == [1, 2]
    assert index.matching(facts(conversation=ConversationFacts(priority="urgent"))) == [0]
