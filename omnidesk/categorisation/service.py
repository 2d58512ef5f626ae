"""Categorisation rules (admins keep them) and running the categorisers on customers'
messages as they arrive. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.principal import Principal
from omnidesk.automation.conditions import ConversationFacts, MessageFacts
from omnidesk.categorisation import repository as repo
from omnidesk.categorisation.categorisers import (
    Categoriser,
    KeywordCategoriser,
    KeywordRule,
    Suggestion,
    keyword_matcher,
)
from omnidesk.categorisation.models import CategoryRule
from omnidesk.categorisation.schemas import CategoryRuleCreate, CategoryRuleUpdate
from omnidesk.contacts import service as contacts
from omnidesk.conversations import audience
from omnidesk.conversations import fields as conversation_fields
from omnidesk.conversations import repository as conversations_repo
from omnidesk.conversations.events import CATEGORISED
from omnidesk.conversations.models import Conversation, Message
from omnidesk.events import service as events
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import NotFound, ValidationFailed

log = structlog.get_logger(__name__)

#: Suggestions at least this confident are applied; the others are only recorded.
APPLY_AT = 0.5
CREATED = "category_rule.created"
UPDATED = "category_rule.updated"
DELETED = "category_rule.deleted"


# Rules ----------------------------------------------------------------------------------


async def get_rule(session: AsyncSession, principal: Principal, rule_id: int) -> CategoryRule:
    rule = await repo.get_rule(session, principal.account_id, rule_id)
    if rule is None:
        raise NotFound("category rule")
    return rule


async def _check(session: AsyncSession, rule: CategoryRule) -> None:
    """Refuse, on the offending field, a rule that could not run or would do nothing."""
    keyword_matcher(rule.keywords, rule.pattern)
    if rule.tag is None and rule.field_key is None:
        raise ValidationFailed("a rule adds a tag or sets a field (or both)", field="tag")
    if rule.field_key is None:
        if rule.field_value is not None:
            raise ValidationFailed("field_value goes with field_key", field="field_value")
        return
    defined = await conversation_fields.definitions(session, rule.account_id)
    if rule.field_key not in {d.key for d in defined}:
        raise ValidationFailed(
            f"{rule.field_key!r} is not a defined conversation field", field="field_key"
        )
    if rule.field_value is None:
        raise ValidationFailed("give the value to set", field="field_value")
    try:
        contacts.validate_attributes(defined, {rule.field_key: rule.field_value}, "conversation")
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field="field_value") from None


async def _record(
    session: AsyncSession, clock: Clock, principal: Principal, type_: str, rule: CategoryRule
) -> None:
    await events.record(
        session,
        account_id=principal.account_id,
        type=type_,
        audience="supervisors",
        actor_user_id=principal.user_id,
        clock=clock,
        data={"category_rule_id": rule.id, "name": rule.name},
    )


async def create_rule(
    session: AsyncSession, clock: Clock, principal: Principal, data: CategoryRuleCreate
) -> CategoryRule:
    principal.require("admin")
    now = clock.now()
    rule = CategoryRule(
        account_id=principal.account_id,
        name=data.name,
        position=data.position,
        active=data.active,
        keywords=list(data.keywords),
        pattern=data.pattern,
        tag=data.tag.lower() if data.tag else None,
        field_key=data.field_key,
        field_value=data.field_value,
        confidence=data.confidence,
        created_at=now,
        updated_at=now,
    )
    await _check(session, rule)
    session.add(rule)
    await session.flush()
    await _record(session, clock, principal, CREATED, rule)
    return rule


async def update_rule(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    rule_id: int,
    data: CategoryRuleUpdate,
) -> CategoryRule:
    principal.require("admin")
    rule = await get_rule(session, principal, rule_id)
    given = data.model_fields_set
    for name in ("name", "position", "active", "confidence"):
        if name in given and getattr(data, name) is not None:
            setattr(rule, name, getattr(data, name))
    if "keywords" in given:
        rule.keywords = list(data.keywords or [])
    if "pattern" in given:
        rule.pattern = data.pattern
    if "tag" in given:
        rule.tag = data.tag.lower() if data.tag else None
    if "field_key" in given:
        rule.field_key = data.field_key
    if "field_value" in given:
        rule.field_value = data.field_value
    await _check(session, rule)
    rule.updated_at = clock.now()
    await _record(session, clock, principal, UPDATED, rule)
    return rule


async def delete_rule(
    session: AsyncSession, clock: Clock, principal: Principal, rule_id: int
) -> None:
    principal.require("admin")
    rule = await get_rule(session, principal, rule_id)
    await _record(session, clock, principal, DELETED, rule)
    await session.delete(rule)


# Running --------------------------------------------------------------------------------

#: Compiled rules by (id, updated_at): a rule is compiled once per change, not per message.
_compiled: dict[tuple[int, datetime], KeywordRule] = {}
_MAX_COMPILED = 10_000


def _keyword_rule(rule: CategoryRule) -> KeywordRule | None:
    key = (rule.id, rule.updated_at)
    found = _compiled.get(key)
    if found is None:
        try:
            matcher = keyword_matcher(rule.keywords, rule.pattern)
        except ValidationFailed as exc:  # checked when saved; a stricter check since
            log.warning("category_rule.skipped", rule_id=rule.id, reason=exc.message)
            return None
        if len(_compiled) >= _MAX_COMPILED:
            _compiled.clear()
        found = _compiled[key] = KeywordRule(
            id=rule.id,
            matcher=matcher,
            confidence=rule.confidence,
            tag=rule.tag,
            field_key=rule.field_key,
            field_value=rule.field_value,
        )
    return found


async def categorisers(
    session: AsyncSession, account_ids: Sequence[int]
) -> dict[int, list[Categoriser]]:
    """Each account's categorisers (accounts without rules have none), in one query."""
    rules = await repo.active_rules(session, account_ids)
    by_account: dict[int, list[KeywordRule]] = {}
    for rule in rules:
        compiled = _keyword_rule(rule)
        if compiled is not None:
            by_account.setdefault(rule.account_id, []).append(compiled)
    return {account: [KeywordCategoriser(group)] for account, group in by_account.items()}


async def categorise_received(
    session: AsyncSession, clock: Clock, received: Sequence[tuple[Message, Conversation]]
) -> None:
    """Run the accounts' categorisers on customers' messages just stored; apply what they
    are confident of and record ``conversation.categorised`` where anything matched."""
    if not received:
        return
    found = await categorisers(session, [c.account_id for _, c in received])
    if not found:
        return
    for message, conversation in received:
        suggestions = [
            suggestion
            for categoriser in found.get(conversation.account_id, [])
            for suggestion in categoriser.categorise(
                ConversationFacts(subject=conversation.subject, inbox_id=conversation.inbox_id),
                MessageFacts(body=message.body, direction=message.direction, private=False),
            )
        ]
        if suggestions:
            await _apply(session, clock, conversation, message, suggestions)


async def _apply(
    session: AsyncSession,
    clock: Clock,
    conversation: Conversation,
    message: Message,
    suggestions: Sequence[Suggestion],
) -> None:
    """Add the suggested tags, fill in the suggested fields that are blank (first rule
    wins), never overwrite; record what was suggested and what was applied."""
    confident = [s for s in suggestions if s.confidence >= APPLY_AT]
    tags = (await conversations_repo.tags_of(session, [conversation.id]))[conversation.id]
    added = list(dict.fromkeys(s.tag for s in confident if s.tag and s.tag not in tags))
    values: dict[str, Any] = {}
    wanted = [s for s in confident if s.field_key is not None]
    if wanted:
        defined = await conversation_fields.definitions(session, conversation.account_id)
        for s in wanted:
            key = s.field_key
            assert key is not None
            if key in values or not conversation_fields.is_blank(
                conversation.custom_fields.get(key)
            ):
                continue
            try:
                values |= contacts.validate_attributes(
                    defined, {key: s.field_value}, "conversation"
                )
            except ValidationFailed as exc:  # the definition changed since the rule was saved
                log.warning("categorisation.field_skipped", source=s.source, reason=exc.message)
    if added:
        await conversations_repo.set_tags(session, conversation.id, sorted({*tags, *added}))
    if values:
        conversation.custom_fields = conversation_fields.merged(conversation.custom_fields, values)
    await events.record(
        session,
        type=CATEGORISED,
        clock=clock,
        data={
            "message_id": message.id,
            "suggestions": [s.as_dict() for s in suggestions],
            "applied": {"tags": added, "custom_fields": values},
        },
        **audience.of(conversation),
    )
