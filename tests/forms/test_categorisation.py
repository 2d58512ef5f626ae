"""Auto-categorisation: keyword and regex rules on customers' messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from omnidesk.automation.conditions import ConversationFacts, MessageFacts
from omnidesk.categorisation.categorisers import (
    KeywordCategoriser,
    KeywordRule,
    keyword_matcher,
)
from omnidesk.channels.base import Inbound, InboundSender
from omnidesk.conversations import service
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.kit.errors import ValidationFailed
from tests.conftest import Tenant, make_user
from tests.forms.conftest import CONVERSATIONS, define

RULES = "/api/v1/category-rules"
MakeInbox = Callable[[Tenant], Awaitable[Inbox]]


def _categorise(rule: KeywordRule, body: str, subject: str = "") -> bool:
    found = KeywordCategoriser([rule]).categorise(
        ConversationFacts(subject=subject), MessageFacts(body=body)
    )
    return bool(found)


@pytest.mark.parametrize(
    ("keywords", "body", "matches"),
    [
        (["refund"], "I want a REFUND now", True),
        (["refund"], "refunded already", False),  # whole words only
        (["money back"], "can I get my money  back", False),
        (["money back"], "can I get my Money Back?", True),
        (["c++"], "help with C++ please", True),
        (["a.b"], "axb", False),  # a keyword is a literal, never a pattern
    ],
)
def test_keywords_match_whole_words_in_any_case(
    keywords: list[str], body: str, matches: bool
) -> None:
    rule = KeywordRule(id=1, matcher=keyword_matcher(keywords, None), tag="x")
    assert _categorise(rule, body) is matches


def test_a_pattern_matches_the_body_or_the_subject() -> None:
    rule = KeywordRule(id=7, matcher=keyword_matcher([], r"(?i)order\s+#?\d{4,}"), tag="order")
    assert _categorise(rule, "where is order #12345?")
    assert _categorise(rule, "hello", subject="Order 99999")
    assert not _categorise(rule, "order 12")
    [suggestion] = KeywordCategoriser([rule]).categorise(
        ConversationFacts(), MessageFacts(body="order 1234")
    )
    assert (suggestion.tag, suggestion.source, suggestion.confidence) == ("order", "rule:7", 1.0)


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(a|aa)*b", r"(\w+\s?)*$", r"(", r"(.*a){20}"])
def test_bad_or_catastrophic_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        keyword_matcher([], pattern)
    assert refused.value.field == "pattern"


async def _rule(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await client.post(RULES, json={"name": "r", **body}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_bad_rules_are_refused_at_save_on_the_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await define(client, tenant, "category", "list", options=["Billing", "Shipping"])
    cases: list[tuple[dict[str, Any], str]] = [
        ({"pattern": r"^(a+)+$", "tag": "x"}, "pattern"),
        ({"pattern": "([a-z]", "tag": "x"}, "pattern"),
        ({"keywords": ["a"], "pattern": "a", "tag": "x"}, "pattern"),
        ({"tag": "x"}, "keywords"),
        ({"keywords": ["refund"]}, "tag"),
        ({"keywords": ["refund"], "field_key": "nope", "field_value": "x"}, "field_key"),
        ({"keywords": ["refund"], "field_key": "category", "field_value": "Food"}, "field_value"),
        ({"keywords": ["refund"], "field_key": "category"}, "field_value"),
    ]
    for body, field in cases:
        response = await client.post(RULES, json={"name": "r", **body}, headers=tenant.headers)
        assert (response.status_code, response.json()["field"]) == (422, field), body
    rule = await _rule(client, tenant, keywords=["refund"], tag="billing")
    changed = await client.patch(
        f"{RULES}/{rule['id']}", json={"keywords": [], "pattern": "(x+)+y"}, headers=tenant.headers
    )
    assert (changed.status_code, changed.json()["field"]) == (422, "pattern")
    _, agent = await make_user(client, tenant, "agent")
    assert (await client.post(RULES, json={"name": "r"}, headers=agent)).status_code == 403


async def _receive(db: Database, inbox: Inbox, message_id: str, body: str) -> int:
    async with db.transaction() as session:
        received = await service.receive_inbound(
            session,
            FrozenClock(),
            inbox=inbox,
            inbound=Inbound(
                channel_message_id=message_id,
                sender=InboundSender(kind="email", value="carla@example.com", name="Carla"),
                body=body,
            ),
        )
        return received.conversation.id


async def test_rules_tag_and_fill_in_fields_of_matching_customer_messages(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, make_inbox: MakeInbox
) -> None:
    await define(client, tenant, "category", "list", options=["Billing", "Shipping"])
    refunds = await _rule(
        client,
        tenant,
        keywords=["refund", "money back"],
        tag="Billing",
        field_key="category",
        field_value="Billing",
    )
    parcels = await _rule(
        client,
        tenant,
        pattern=r"(?i)\bparcel\b",
        tag="shipping",
        field_key="category",
        field_value="Shipping",
        position=1,
    )
    upset = await _rule(client, tenant, keywords=["angry"], tag="maybe-upset", confidence=0.2)
    await _rule(client, tenant, keywords=["refund"], tag="never", active=False)
    inbox = await make_inbox(tenant)
    cid = await _receive(db, inbox, "m-1", "Hello")
    url = f"{CONVERSATIONS}/{cid}"
    got = (await client.get(url, headers=tenant.headers)).json()
    assert (got["tags"], got["custom_fields"]) == ([], {})
    await _receive(db, inbox, "m-2", "I am angry: my parcel is lost, I want my money back")
    got = (await client.get(url, headers=tenant.headers)).json()
    # Both rules tag; the first one (by position, then age) fills the field; a low
    # confidence is only recorded.
    assert got["tags"] == ["billing", "shipping"]
    assert got["custom_fields"] == {"category": "Billing"}
    events = (await client.get(f"{url}/events", headers=tenant.headers)).json()
    [event] = [e for e in events if e["type"] == "conversation.categorised"]
    assert [s["source"] for s in event["data"]["suggestions"]] == [
        f"rule:{refunds['id']}",
        f"rule:{upset['id']}",
        f"rule:{parcels['id']}",
    ]
    assert event["data"]["applied"] == {
        "tags": ["billing", "shipping"],
        "custom_fields": {"category": "Billing"},
    }


async def test_rules_are_per_account(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    other_tenant: Tenant,
    make_inbox: MakeInbox,
) -> None:
    rule = await _rule(client, tenant, keywords=["refund"], tag="billing")
    url = f"{RULES}/{rule['id']}"
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method,
            url,
            json={"name": "x"} if method == "PATCH" else None,
            headers=other_tenant.headers,
        )
        assert response.status_code == 404, method
    assert (await client.get(RULES, headers=other_tenant.headers)).json() == []
    cid = await _receive(db, await make_inbox(other_tenant), "m-1", "refund please")
    got = (await client.get(f"{CONVERSATIONS}/{cid}", headers=other_tenant.headers)).json()
    assert got["tags"] == []
    assert (await client.delete(url, headers=tenant.headers)).status_code == 204
