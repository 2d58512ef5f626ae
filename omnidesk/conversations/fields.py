"""A conversation's custom fields: typed by the account's conversation attribute
definitions and checked on every write; some must be filled in before an agent resolves;
a ticket form fills in its defaults where nothing is set (docs/ticket-forms.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.contacts import repository as contacts_repo
from omnidesk.contacts import service as contacts
from omnidesk.contacts.models import AttributeDefinition
from omnidesk.conversations import audience
from omnidesk.conversations import repository as repo
from omnidesk.conversations.events import FORM_APPLIED
from omnidesk.conversations.models import Conversation
from omnidesk.events import service as events
from omnidesk.forms import repository as forms_repo
from omnidesk.forms.models import TicketForm
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import ValidationFailed
from omnidesk.sla import service as sla

log = structlog.get_logger(__name__)

APPLIES_TO = "conversation"
#: The statuses an agent may only reach with every required field filled in.
RESOLVING = frozenset({"resolved", "closed"})
#: The priority a conversation starts with: a form's priority replaces only this one.
DEFAULT_PRIORITY = "normal"


class FieldsMissing(ValidationFailed):
    """Resolving refused: ``details.missing`` lists the keys to fill in, in form order."""

    code = "required_fields_missing"


async def definitions(session: AsyncSession, account_id: int) -> Sequence[AttributeDefinition]:
    return await contacts_repo.list_definitions(session, account_id, APPLIES_TO)


async def checked(
    session: AsyncSession, account_id: int, values: Mapping[str, Any]
) -> dict[str, Any]:
    """The values checked against the definitions (422 on ``custom_fields.<key>``); None
    means "clear it"."""
    if not values:
        return {}
    return contacts.validate_attributes(
        await definitions(session, account_id), values, APPLIES_TO, field_prefix="custom_fields"
    )


def merged(current: Mapping[str, Any], cleaned: Mapping[str, Any]) -> dict[str, Any]:
    """``cleaned`` over ``current``; a key set to None is removed."""
    out = dict(current)
    for key, value in cleaned.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def is_blank(value: Any) -> bool:
    """Nothing filled in: unset, empty text, or an unticked checkbox."""
    return value is None or value is False or (isinstance(value, str) and not value.strip())


def missing_fields(
    defined: Iterable[AttributeDefinition],
    form: TicketForm | None,
    values: Mapping[str, Any],
) -> list[AttributeDefinition]:
    """The fields that must be filled in before resolving and are blank: those defined as
    required on resolve, and those the conversation's form marks required; form order
    first. A key no longer defined is not required."""
    known = {d.key: d for d in defined}
    form_keys = [f["key"] for f in form.fields] if form is not None else []
    required = {d.key for d in known.values() if d.required_on_resolve}
    if form is not None:
        required |= {f["key"] for f in form.fields if f.get("required")}
    order = list(dict.fromkeys([*form_keys, *known]))
    return [
        known[key]
        for key in order
        if key in required and key in known and is_blank(values.get(key))
    ]


async def check_resolvable(session: AsyncSession, conversation: Conversation) -> None:
    form = None
    if conversation.ticket_form_id is not None:
        form = await forms_repo.get_form(
            session, conversation.account_id, conversation.ticket_form_id
        )
    missing = missing_fields(
        await definitions(session, conversation.account_id), form, conversation.custom_fields
    )
    if missing:
        raise FieldsMissing(
            "fill in before resolving: " + ", ".join(d.label for d in missing),
            field=f"custom_fields.{missing[0].key}",
            details={"missing": [d.key for d in missing]},
        )


# Ticket forms ---------------------------------------------------------------------------


@dataclass
class FormChanges:
    custom_fields: dict[str, Any] = field(default_factory=dict)
    subject: str | None = None
    priority: str | None = None
    tags_added: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"custom_fields": self.custom_fields, "tags_added": self.tags_added}
        if self.subject is not None:
            out["subject"] = self.subject
        if self.priority is not None:
            out["priority"] = self.priority
        return out


def form_changes(
    form: TicketForm,
    defaults: Mapping[str, Any],
    conversation: Conversation,
    tags: Sequence[str],
) -> FormChanges:
    """What applying ``form`` sets: its (checked) ``defaults`` where a field is blank, its
    subject where there is none, its priority over the starting one, its missing tags.
    Never overwrites a value already set."""
    changes = FormChanges()
    for key, value in defaults.items():
        if value is not None and is_blank(conversation.custom_fields.get(key)):
            changes.custom_fields[key] = value
    if form.subject and not conversation.subject.strip():
        changes.subject = form.subject
    if form.priority not in (None, DEFAULT_PRIORITY) and conversation.priority == DEFAULT_PRIORITY:
        changes.priority = form.priority
    changes.tags_added = [t for t in form.tags if t not in tags]
    return changes


def _defaults(defined: Sequence[AttributeDefinition], form: TicketForm) -> dict[str, Any]:
    """The form's defaults that still fit their definitions (checked when the form was
    saved; a definition changed since is logged and its default skipped)."""
    known = {d.key for d in defined}
    out: dict[str, Any] = {}
    for position, item in enumerate(form.fields):
        key, value = item["key"], item.get("default")
        if value is None:
            continue
        try:
            if key not in known:
                raise ValidationFailed("no longer defined", field=key)
            out |= contacts.validate_attributes(defined, {key: value}, APPLIES_TO)
        except ValidationFailed as exc:
            log.warning(
                "ticket_form.default_skipped",
                form_id=form.id,
                position=position,
                reason=exc.message,
            )
    return out


async def apply_form(
    session: AsyncSession,
    clock: Clock,
    conversation: Conversation,
    form: TicketForm,
    *,
    actor_user_id: int | None,
    opening: bool = False,
) -> FormChanges:
    """Make ``form`` the conversation's form and fill in its defaults; records
    ``conversation.form_applied``. ``opening``: the conversation is being created and its
    SLA clocks start afterwards (with the form's priority)."""
    defined = await definitions(session, conversation.account_id)
    tags = (await repo.tags_of(session, [conversation.id]))[conversation.id]
    changes = form_changes(form, _defaults(defined, form), conversation, tags)
    previous_form = conversation.ticket_form_id
    conversation.ticket_form_id = form.id
    if changes.custom_fields:
        conversation.custom_fields = merged(conversation.custom_fields, changes.custom_fields)
    if changes.subject is not None:
        conversation.subject = changes.subject
    if changes.tags_added:
        await repo.set_tags(session, conversation.id, sorted({*tags, *changes.tags_added}))
    if changes.priority is not None:
        conversation.priority = changes.priority
        if not opening:
            await sla.reevaluate(session, clock, conversation)
    conversation.updated_at = clock.now()
    await events.record(
        session,
        type=FORM_APPLIED,
        actor_user_id=actor_user_id,
        clock=clock,
        data={"form_id": form.id, "previous_form_id": previous_form, "set": changes.as_dict()},
        **audience.of(conversation),
    )
    return changes
