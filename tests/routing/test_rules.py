"""Routing rules: first matching rule wins, else the default queue. Pure."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from omnidesk.conversations.vocabulary import PRIORITIES
from omnidesk.routing.rules import (
    Conditions,
    Facts,
    RoutingTarget,
    Rule,
    SkillRequirement,
    is_vip,
    matches,
    route,
)

DEFAULT = 1
BILLING, VIP_QUEUE, FRENCH = 10, 11, 12


def test_no_rules_means_the_default_queue_at_the_works_own_priority() -> None:
    assert route([], Facts(priority="high"), default_queue_id=DEFAULT) == RoutingTarget(
        queue_id=DEFAULT, priority="high", extra_skills=(), rule_id=None
    )


def test_the_first_matching_rule_wins() -> None:
    rules = [
        Rule(1, Conditions(tags_any=frozenset({"billing"})), queue_id=BILLING),
        Rule(2, Conditions(vip=True), queue_id=VIP_QUEUE, priority="urgent"),
        Rule(3, Conditions(), queue_id=FRENCH),  # matches everything
    ]
    vip_billing = Facts(tags=frozenset({"billing"}), contact_attributes={"vip": True})
    assert route(rules, vip_billing, default_queue_id=DEFAULT).rule_id == 1
    vip = route(rules, Facts(contact_attributes={"vip": True}), default_queue_id=DEFAULT)
    assert (vip.queue_id, vip.priority, vip.rule_id) == (VIP_QUEUE, "urgent", 2)
    assert route(rules, Facts(), default_queue_id=DEFAULT).queue_id == FRENCH


def test_disabled_rules_are_skipped_and_a_rule_without_queue_uses_the_default() -> None:
    rules = [
        Rule(1, Conditions(), queue_id=BILLING, enabled=False),
        Rule(
            2,
            Conditions(channels=frozenset({"voice"})),
            priority="high",
            extra_skills=(SkillRequirement(7, 5),),
        ),
    ]
    target = route(rules, Facts(channel="voice"), default_queue_id=DEFAULT)
    assert target == RoutingTarget(DEFAULT, "high", (SkillRequirement(7, 5),), 2)
    assert route(rules, Facts(channel="chat"), default_queue_id=DEFAULT).rule_id is None


def test_every_condition_must_match() -> None:
    conditions = Conditions(
        inbox_ids=frozenset({5}),
        channels=frozenset({"email"}),
        languages=frozenset({"fr"}),
        tags_any=frozenset({"refund", "billing"}),
        contact_attributes={"plan": "gold"},
        vip=False,
    )
    facts = Facts(
        inbox_id=5,
        channel="email",
        language="fr-CA",
        tags=frozenset({"billing", "other"}),
        contact_attributes={"plan": "gold", "vip": "no"},
    )
    assert matches(conditions, facts)
    assert not matches(conditions, Facts(**{**facts.__dict__, "inbox_id": 6}))
    assert not matches(conditions, Facts(**{**facts.__dict__, "inbox_id": None}))
    assert not matches(conditions, Facts(**{**facts.__dict__, "channel": "chat"}))
    assert not matches(conditions, Facts(**{**facts.__dict__, "language": "en"}))
    assert not matches(conditions, Facts(**{**facts.__dict__, "language": "fry"}))
    assert not matches(conditions, Facts(**{**facts.__dict__, "language": None}))
    assert not matches(conditions, Facts(**{**facts.__dict__, "tags": frozenset({"other"})}))
    assert not matches(
        conditions, Facts(**{**facts.__dict__, "contact_attributes": {"plan": "silver"}})
    )
    assert not matches(conditions, Facts(**{**facts.__dict__, "contact_attributes": {}}))
    assert not matches(
        conditions,
        Facts(**{**facts.__dict__, "contact_attributes": {"plan": "gold", "vip": True}}),
    )


def test_languages_match_by_primary_tag_and_without_case() -> None:
    french = Conditions(languages=frozenset({"fr"}))
    assert matches(french, Facts(language="FR"))
    assert matches(french, Facts(language="fr_BE"))
    assert not matches(Conditions(languages=frozenset({"fr-CA"})), Facts(language="fr"))


def test_vip_flag() -> None:
    assert is_vip({"vip": True})
    assert is_vip({"vip": "Yes"})
    assert is_vip({"vip": 1})
    assert not is_vip({"vip": False})
    assert not is_vip({"vip": "no"})
    assert not is_vip({})
    assert matches(Conditions(vip=False), Facts())


rule_lists = st.lists(
    st.builds(
        Rule,
        id=st.integers(1, 1000),
        conditions=st.builds(
            Conditions,
            channels=st.frozensets(st.sampled_from(["voice", "chat", "email"]), max_size=2),
            tags_any=st.frozensets(st.sampled_from(["a", "b", "c"]), max_size=2),
        ),
        queue_id=st.none() | st.integers(2, 50),
        priority=st.none() | st.sampled_from(PRIORITIES),
        enabled=st.booleans(),
    ),
    max_size=8,
)
facts = st.builds(
    Facts,
    channel=st.none() | st.sampled_from(["voice", "chat", "email"]),
    tags=st.frozensets(st.sampled_from(["a", "b", "c"])),
    priority=st.sampled_from(PRIORITIES),
)


@given(rule_lists, facts)
def test_the_target_is_the_first_enabled_match(rules: list[Rule], f: Facts) -> None:
    target = route(rules, f, default_queue_id=DEFAULT)
    first = next((r for r in rules if r.enabled and matches(r.conditions, f)), None)
    if first is None:
        assert target == RoutingTarget(DEFAULT, f.priority, (), None)
    else:
        assert target.rule_id == first.id
        assert target.queue_id == (first.queue_id or DEFAULT)
        assert target.priority == (first.priority or f.priority)
    # A catch-all rule appended at the end only decides what no earlier rule decided.
    extended = route([*rules, Rule(9999, Conditions(), queue_id=99)], f, default_queue_id=DEFAULT)
    assert extended == target if first is not None else extended.rule_id == 9999
