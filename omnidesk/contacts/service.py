"""Use cases for contacts, identities, companies, attribute definitions and merges.

Never commits. :func:`normalise_identity` and :func:`validate_attributes` are pure and
reused by other contexts; :func:`resolve_contact` is the channel pipeline's entry point.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts import repository as accounts_repo
from omnidesk.accounts.principal import Principal
from omnidesk.contacts import repository as repo
from omnidesk.contacts.models import (
    IDENTITY_KINDS,
    AttributeDefinition,
    Company,
    Contact,
    ContactMerge,
    Identity,
)
from omnidesk.contacts.schemas import (
    AttributeDefinitionCreate,
    AttributeDefinitionUpdate,
    CompanyCreate,
    CompanyUpdate,
    ContactCreate,
    ContactUpdate,
    IdentityIn,
)
from omnidesk.events import repository as events_repo
from omnidesk.events import service as events
from omnidesk.events.models import Event
from omnidesk.events.visibility import may_see
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import Conflict, NotFound, ValidationFailed
from omnidesk.kit.pagination import decode_cursor, encode_cursor

DEFAULT_PHONE_REGION = "US"
MAX_IDENTITY_LENGTH = 320
MAX_TEXT_ATTRIBUTE = 10_000
_PHONE_KINDS = frozenset({"phone", "whatsapp"})
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EXPECTED = {
    "text": f"a text of at most {MAX_TEXT_ATTRIBUTE} characters",
    "number": "a number",
    "date": "an ISO date (YYYY-MM-DD)",
    "boolean": "true or false",
    "list": "one of the options",
    "url": "an http(s) URL",
}


# Pure rules -----------------------------------------------------------------------------


def normalise_identity(kind: str, value: str, default_region: str = DEFAULT_PHONE_REGION) -> str:
    """The canonical form of a handle: lower-cased email, E.164 phone, else trimmed text.

    Idempotent: normalising a normalised value gives it back.
    """
    if kind not in IDENTITY_KINDS:
        raise ValidationFailed(f"unknown identity kind {kind!r}", field="kind")
    text = value.strip()
    if not text:
        raise ValidationFailed("the identity value is empty", field="value")
    if kind == "email":
        return _normalise_email(text)
    if kind in _PHONE_KINDS:
        return _normalise_phone(text, default_region, wa_id=kind == "whatsapp")
    if len(text) > MAX_IDENTITY_LENGTH:
        raise ValidationFailed(
            f"the identity value is longer than {MAX_IDENTITY_LENGTH} characters", field="value"
        )
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in text):
        raise ValidationFailed("the identity value contains control characters", field="value")
    return text


def _normalise_email(text: str) -> str:
    try:
        address = validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationFailed(f"not a valid email address: {exc}", field="value") from exc
    return address.lower()


def _normalise_phone(text: str, region: str, *, wa_id: bool) -> str:
    candidates = [text]
    if wa_id and text.isascii() and text.isdigit():
        # WhatsApp sends its wa_id as the international number without the "+".
        candidates.append("+" + text)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region.upper())
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise ValidationFailed("not a valid phone number", field="value")


def validate_attributes(
    definitions: Iterable[AttributeDefinition],
    values: Mapping[str, Any],
    applies_to: str,
    *,
    field_prefix: str = "attributes",
) -> dict[str, Any]:
    """Check custom attribute values against the account's definitions; return them cleaned.

    ``None`` passes through for any key: to the caller it means "clear this value", which
    must stay possible after a definition was deleted.
    """
    known = {d.key: d for d in definitions if d.applies_to == applies_to}
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        field = f"{field_prefix}.{key}"
        if value is None:
            cleaned[key] = None
            continue
        definition = known.get(key)
        if definition is None:
            raise ValidationFailed(f"{key!r} is not a defined {applies_to} attribute", field=field)
        checked = _check_value(definition, value)
        if checked is None:
            raise ValidationFailed(f"{key!r} must be {_EXPECTED[definition.type]}", field=field)
        cleaned[key] = checked
    return cleaned


def _check_value(definition: AttributeDefinition, value: Any) -> Any:
    """The cleaned value, or None when it does not fit the definition's type."""
    kind = definition.type
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value if isinstance(value, int) or math.isfinite(value) else None
    if not isinstance(value, str) or not _storable(value):
        return None
    if kind == "text":
        return value if len(value) <= MAX_TEXT_ATTRIBUTE else None
    if kind == "list":
        return value if value in definition.options else None
    if kind == "date":
        return _iso_date(value)
    if kind == "url":
        return value if _is_web_url(value) else None
    return None


def _storable(value: str) -> bool:
    """PostgreSQL refuses NUL and lone surrogates (JSON lets them through as escapes)."""
    if "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _iso_date(value: str) -> str | None:
    # date.fromisoformat alone would also take "20260105" and week dates.
    if not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None


def _is_web_url(value: str) -> bool:
    if len(value) > 2048 or any(c.isspace() or ord(c) < 32 for c in value):
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _cursor_id(cursor: str | None) -> int | None:
    decoded = decode_cursor(cursor)
    return None if decoded is None else decoded.id


def _search_terms(q: str | None) -> list[str]:
    term = (q or "").strip()
    if not term:
        return []
    # "(415) 555-2671" should find "+14155552671": also search the bare digits.
    digits = re.sub(r"[^0-9]", "", term)
    return [term, digits] if len(digits) >= 4 and digits != term else [term]


def _page_of(rows: Sequence[Any], limit: int) -> tuple[list[Any], str | None]:
    items = list(rows[:limit])
    next_cursor = encode_cursor(None, items[-1].id) if len(rows) > limit else None
    return items, next_cursor


async def phone_region(session: AsyncSession, account_id: int) -> str:
    """The region used to read phone numbers written without a country code."""
    account = await accounts_repo.get_account(session, account_id)
    region = (account.settings or {}).get("default_phone_region") if account else None
    return region.upper() if isinstance(region, str) and region else DEFAULT_PHONE_REGION


async def _record(
    session: AsyncSession,
    clock: Clock,
    actor: Principal,
    type_: str,
    *,
    contact_id: int | None = None,
    audience: str = "account",
    **data: Any,
) -> None:
    await events.record(
        session,
        account_id=actor.account_id,
        type=type_,
        audience=audience,
        actor_user_id=actor.user_id,
        contact_id=contact_id,
        data={"contact_id": contact_id, **data} if contact_id is not None else data,
        clock=clock,
    )


# Contacts -------------------------------------------------------------------------------


async def get_contact(session: AsyncSession, actor: Principal, contact_id: int) -> Contact:
    contact = await repo.get_contact(session, actor.account_id, contact_id)
    if contact is None:
        raise NotFound("contact")
    return contact


async def _live_contact(session: AsyncSession, actor: Principal, contact_id: int) -> Contact:
    contact = await get_contact(session, actor, contact_id)
    if contact.merged_into_id is not None:
        raise Conflict(f"this contact was merged into contact {contact.merged_into_id}")
    return contact


async def _check_company(session: AsyncSession, account_id: int, company_id: int | None) -> None:
    if company_id is not None and await repo.get_company(session, account_id, company_id) is None:
        raise NotFound("company", field="company_id")


async def list_contacts(
    session: AsyncSession,
    actor: Principal,
    *,
    q: str | None = None,
    company_id: int | None = None,
    ids: Sequence[int] = (),
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Contact], str | None]:
    rows = await repo.list_contacts(
        session,
        actor.account_id,
        terms=_search_terms(q),
        company_id=company_id,
        ids=ids,
        before_id=_cursor_id(cursor),
        limit=limit + 1,
    )
    return _page_of(rows, limit)


async def create_contact(
    session: AsyncSession, clock: Clock, actor: Principal, data: ContactCreate
) -> Contact:
    await _check_company(session, actor.account_id, data.company_id)
    definitions = await repo.list_definitions(session, actor.account_id, "contact")
    attributes = validate_attributes(definitions, data.attributes, "contact")
    region = await phone_region(session, actor.account_id)
    wanted: dict[tuple[str, str], str] = {}
    for index, given in enumerate(data.identities):
        field = f"identities.{index}.value"
        try:
            value = normalise_identity(given.kind, given.value, region)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field=field) from exc
        wanted.setdefault((given.kind, value), field)
    for (kind, value), field in wanted.items():
        if await repo.find_identity(session, actor.account_id, kind, value) is not None:
            raise Conflict("another contact already has this identity", field=field)
    now = clock.now()
    contact = Contact(
        account_id=actor.account_id,
        name=data.name.strip(),
        company_id=data.company_id,
        attributes={k: v for k, v in attributes.items() if v is not None},
        created_at=now,
        updated_at=now,
    )
    session.add(contact)
    await session.flush()
    for (kind, value), field in wanted.items():
        await _insert_identity(session, clock, contact, kind, value, field=field)
    await _record(session, clock, actor, "contact.created", contact_id=contact.id)
    return contact


async def update_contact(
    session: AsyncSession, clock: Clock, actor: Principal, contact_id: int, data: ContactUpdate
) -> Contact:
    contact = await _live_contact(session, actor, contact_id)
    changed: list[str] = []
    if data.name is not None and data.name.strip() != contact.name:
        contact.name = data.name.strip()
        changed.append("name")
    if "company_id" in data.model_fields_set and data.company_id != contact.company_id:
        await _check_company(session, actor.account_id, data.company_id)
        contact.company_id = data.company_id
        changed.append("company_id")
    if data.attributes:
        definitions = await repo.list_definitions(session, actor.account_id, "contact")
        attributes = dict(contact.attributes)
        for key, value in validate_attributes(definitions, data.attributes, "contact").items():
            if value is None:
                attributes.pop(key, None)
            else:
                attributes[key] = value
        if attributes != contact.attributes:
            contact.attributes = attributes
            changed.append("attributes")
    if changed:
        contact.updated_at = clock.now()
        await _record(
            session, clock, actor, "contact.updated", contact_id=contact.id, fields=changed
        )
    return contact


async def contact_timeline(session: AsyncSession, actor: Principal, contact_id: int) -> list[Event]:
    """The contact's latest events that the actor may see, newest first."""
    contact = await get_contact(session, actor, contact_id)
    found = await events_repo.list_for_contact(session, actor.account_id, contact.id)
    return [
        event
        for event in found
        if may_see(
            actor, audience=event.audience, assignee_id=event.assignee_id, team_id=event.team_id
        )
    ]


# Identities -----------------------------------------------------------------------------


async def _insert_identity(
    session: AsyncSession, clock: Clock, contact: Contact, kind: str, value: str, *, field: str
) -> Identity:
    identity = Identity(
        account_id=contact.account_id,
        contact_id=contact.id,
        kind=kind,
        value=value,
        verified=False,
        created_at=clock.now(),
    )
    try:
        async with session.begin_nested():
            session.add(identity)
            await session.flush()
    except IntegrityError as exc:  # another transaction took it since we looked
        raise Conflict("another contact already has this identity", field=field) from exc
    return identity


async def add_identity(
    session: AsyncSession, clock: Clock, actor: Principal, contact_id: int, data: IdentityIn
) -> Identity:
    """Attach a handle; adding one the contact already has returns it unchanged."""
    contact = await _live_contact(session, actor, contact_id)
    region = await phone_region(session, actor.account_id)
    value = normalise_identity(data.kind, data.value, region)
    existing = await repo.find_identity(session, actor.account_id, data.kind, value)
    if existing is not None:
        if existing.contact_id == contact.id:
            return existing
        raise Conflict("another contact already has this identity", field="value")
    identity = await _insert_identity(session, clock, contact, data.kind, value, field="value")
    contact.updated_at = clock.now()
    await _record(
        session,
        clock,
        actor,
        "contact.identity_added",
        contact_id=contact.id,
        identity_id=identity.id,
        kind=identity.kind,
    )
    return identity


async def attach_identity(
    session: AsyncSession, clock: Clock, contact: Contact, kind: str, value: str
) -> bool:
    """A channel's handle on a contact (a chat visitor's email): attached when nobody owns it
    yet. False when it is not valid or another contact owns it (nothing is changed)."""
    region = await phone_region(session, contact.account_id)
    try:
        normalised = normalise_identity(kind, value, region)
    except ValidationFailed:
        return False
    existing = await repo.find_identity(session, contact.account_id, kind, normalised)
    if existing is not None:
        return existing.contact_id == contact.id
    try:
        identity = await _insert_identity(session, clock, contact, kind, normalised, field="value")
    except Conflict:
        return False
    contact.updated_at = clock.now()
    await _record(
        session,
        clock,
        Principal.system(contact.account_id),
        "contact.identity_added",
        contact_id=contact.id,
        identity_id=identity.id,
        kind=identity.kind,
    )
    return True


async def remove_identity(
    session: AsyncSession, clock: Clock, actor: Principal, contact_id: int, identity_id: int
) -> None:
    contact = await _live_contact(session, actor, contact_id)
    identity = await repo.get_identity(session, actor.account_id, identity_id)
    if identity is None or identity.contact_id != contact.id:
        raise NotFound("identity")
    await session.delete(identity)
    contact.updated_at = clock.now()
    await _record(
        session,
        clock,
        actor,
        "contact.identity_removed",
        contact_id=contact.id,
        identity_id=identity_id,
        kind=identity.kind,
    )


# Inbound --------------------------------------------------------------------------------


async def _owner_of(
    session: AsyncSession, account_id: int, kind: str, value: str
) -> Contact | None:
    identity = await repo.find_identity(session, account_id, kind, value)
    if identity is None:
        return None
    contact = await repo.get_contact(session, account_id, identity.contact_id)
    seen: set[int] = set()
    while contact is not None and contact.merged_into_id is not None and contact.id not in seen:
        seen.add(contact.id)
        contact = await repo.get_contact(session, account_id, contact.merged_into_id)
    return contact


async def owners_of(
    session: AsyncSession,
    account_id: int,
    handles: Iterable[tuple[str, str]],
    *,
    lock: bool = False,
) -> dict[tuple[str, str], Contact]:
    """:func:`_owner_of` for many normalised ``(kind, value)`` handles: two queries, plus
    some for merged contacts met on the way. ``lock`` row-locks every contact returned."""
    identities = await repo.find_identities(session, account_id, handles)
    contacts = await repo.get_contacts(
        session, account_id, (i.contact_id for i in identities), lock=lock
    )
    owners: dict[tuple[str, str], Contact] = {}
    survivors = set()
    for identity in identities:
        contact = contacts.get(identity.contact_id)
        if contact is not None and contact.merged_into_id is not None:
            contact = await _owner_of(session, account_id, identity.kind, identity.value)
            if contact is not None:
                survivors.add(contact.id)
        if contact is not None:
            owners[(identity.kind, identity.value)] = contact
    if lock and survivors - contacts.keys():
        await repo.lock_contacts(session, account_id, sorted(survivors - contacts.keys()))
    return owners


def is_phone_kind(kind: str) -> bool:
    """Whether handles of this kind are phone numbers (normalised with a default region)."""
    return kind in _PHONE_KINDS


async def phone_regions(session: AsyncSession, account_ids: Iterable[int]) -> dict[int, str]:
    return {account_id: await phone_region(session, account_id) for account_id in set(account_ids)}


async def resolve_contact(
    session: AsyncSession,
    clock: Clock,
    *,
    account_id: int,
    kind: str,
    value: str,
    name: str = "",
    extra_identities: Iterable[tuple[str, str]] = (),
) -> Contact:
    """The contact behind an inbound sender, created on first contact.

    ``extra_identities`` are (kind, value) handles the channel also knows (an email's
    Reply-To, a WhatsApp profile's phone); they are attached to a new contact when nobody
    owns them yet, and invalid ones are skipped so that the message is never refused.
    """
    region = await phone_region(session, account_id)
    normalised = normalise_identity(kind, value, region)
    found = await _owner_of(session, account_id, kind, normalised)
    if found is not None:
        return found
    extra_identities = list(extra_identities)
    if any(_other_phone_channel(kind, k) for k, _ in extra_identities):
        if await links_phone_channels(session, account_id):
            linked = await _linked_by_phone(
                session, clock, account_id, kind, normalised, extra_identities, region
            )
            if linked is not None:
                return linked
        else:
            extra_identities = [e for e in extra_identities if not _other_phone_channel(kind, e[0])]
    now = clock.now()
    contact = Contact(
        account_id=account_id,
        # A sender's display name is never a reason to refuse their message.
        name=name.encode(errors="replace").decode().replace("\x00", "").strip()[:200],
        attributes={},
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(contact)
            await session.flush()
            session.add(
                Identity(
                    account_id=account_id,
                    contact_id=contact.id,
                    kind=kind,
                    value=normalised,
                    verified=False,
                    created_at=now,
                )
            )
            await session.flush()
    except IntegrityError:
        # A concurrent message from the same sender created the contact first.
        found = await _owner_of(session, account_id, kind, normalised)
        if found is None:
            raise
        return found
    for extra_kind, extra_value in extra_identities:
        try:
            extra = normalise_identity(extra_kind, extra_value, region)
        except ValidationFailed:
            continue
        if await repo.find_identity(session, account_id, extra_kind, extra) is None:
            try:
                await _insert_identity(session, clock, contact, extra_kind, extra, field="value")
            except Conflict:
                continue
    await _record(
        session,
        clock,
        Principal.system(account_id),
        "contact.created",
        contact_id=contact.id,
        source=kind,
    )
    return contact


async def record_consent(
    session: AsyncSession,
    clock: Clock,
    *,
    account_id: int,
    kind: str,
    value: str,
    consent: str,
    source: str,
) -> Identity | None:
    """The customer opted out of (or back into) messages to one of their handles; recorded
    once per change (a repeated STOP changes nothing). ``value`` is normalised."""
    identity = await repo.find_identity(session, account_id, kind, value)
    if identity is None or identity.consent == consent:
        return identity
    identity.consent = consent
    identity.consent_at = clock.now()
    await _record(
        session,
        clock,
        Principal.system(account_id),
        "contact.consent_changed",
        contact_id=identity.contact_id,
        identity_id=identity.id,
        kind=kind,
        value=value,
        consent=consent,
        source=source,
    )
    return identity


def _other_phone_channel(kind: str, extra_kind: str) -> bool:
    """Whether a sender's extra handle is their number on another channel (a WhatsApp
    sender's SMS number)."""
    return kind != extra_kind and kind in _PHONE_KINDS and extra_kind in _PHONE_KINDS


async def links_phone_channels(session: AsyncSession, account_id: int) -> bool:
    """The account's choice: one phone number on SMS and WhatsApp is one contact (default)."""
    account = await accounts_repo.get_account(session, account_id)
    return account is None or account.link_phone_channels


async def _linked_by_phone(
    session: AsyncSession,
    clock: Clock,
    account_id: int,
    kind: str,
    normalised: str,
    extra_identities: list[tuple[str, str]],
    region: str,
) -> Contact | None:
    """The contact who already wrote from the same number on another channel, given this
    channel's handle too; None when nobody did."""
    for extra_kind, extra_value in extra_identities:
        if not _other_phone_channel(kind, extra_kind):
            continue
        try:
            extra = normalise_identity(extra_kind, extra_value, region)
        except ValidationFailed:
            continue
        owner = await _owner_of(session, account_id, extra_kind, extra)
        if owner is None:
            continue
        try:
            identity = await _insert_identity(
                session, clock, owner, kind, normalised, field="value"
            )
        except Conflict:
            # A concurrent message from the same sender attached it first.
            return await _owner_of(session, account_id, kind, normalised)
        owner.updated_at = clock.now()
        await _record(
            session,
            clock,
            Principal.system(account_id),
            "contact.identity_added",
            contact_id=owner.id,
            identity_id=identity.id,
            kind=kind,
        )
        return owner
    return None


# Merges ---------------------------------------------------------------------------------


async def merge_contacts(
    session: AsyncSession, clock: Clock, actor: Principal, survivor_id: int, merged_id: int
) -> ContactMerge:
    """Fold ``merged_id`` into ``survivor_id``, recording exactly what moved for an undo."""
    actor.require("admin", "supervisor")
    if survivor_id == merged_id:
        raise ValidationFailed("a contact cannot be merged into itself", field="contact_id")
    locked = await repo.lock_contacts(session, actor.account_id, [survivor_id, merged_id])
    if survivor_id not in locked:
        raise NotFound("contact")
    if merged_id not in locked:
        raise NotFound("contact", field="contact_id")
    survivor, merged = locked[survivor_id], locked[merged_id]
    for contact, field in ((survivor, None), (merged, "contact_id")):
        if contact.merged_into_id is not None:
            raise Conflict(
                f"contact {contact.id} was already merged into contact {contact.merged_into_id}",
                field=field,
            )
    identity_ids, conversation_ids, event_ids = await repo.ids_owned_by(
        session, actor.account_id, merged.id
    )
    await repo.move_to_contact(
        session,
        actor.account_id,
        from_id=merged.id,
        to_id=survivor.id,
        identity_ids=identity_ids,
        conversation_ids=conversation_ids,
        event_ids=event_ids,
    )
    added = {k: v for k, v in merged.attributes.items() if k not in survivor.attributes}
    if added:
        survivor.attributes = {**survivor.attributes, **added}
    now = clock.now()
    survivor.updated_at = merged.updated_at = now
    merged.merged_into_id = survivor.id
    record = ContactMerge(
        account_id=actor.account_id,
        survivor_id=survivor.id,
        merged_id=merged.id,
        moved={
            "identity_ids": identity_ids,
            "conversation_ids": conversation_ids,
            "event_ids": event_ids,
            "attribute_keys": sorted(added),
        },
        actor_user_id=actor.user_id,
        created_at=now,
        undone_at=None,
    )
    session.add(record)
    await session.flush()
    await _record(
        session,
        clock,
        actor,
        "contact.merged",
        contact_id=survivor.id,
        merge_id=record.id,
        survivor_id=survivor.id,
        merged_id=merged.id,
    )
    return record


async def undo_merge(
    session: AsyncSession, clock: Clock, actor: Principal, merge_id: int
) -> ContactMerge:
    """Move back exactly what the merge moved (what is still on the survivor)."""
    actor.require("admin")
    record = await repo.lock_merge(session, actor.account_id, merge_id)
    if record is None:
        raise NotFound("contact merge")
    if record.undone_at is not None:
        raise Conflict("this merge was already undone")
    locked = await repo.lock_contacts(
        session, actor.account_id, [record.survivor_id, record.merged_id]
    )
    survivor, merged = locked[record.survivor_id], locked[record.merged_id]
    if survivor.merged_into_id is not None:
        raise Conflict(
            f"contact {survivor.id} was merged into contact {survivor.merged_into_id} since: "
            "undo that merge first"
        )
    moved = record.moved
    await repo.move_to_contact(
        session,
        actor.account_id,
        from_id=survivor.id,
        to_id=merged.id,
        identity_ids=moved.get("identity_ids", []),
        conversation_ids=moved.get("conversation_ids", []),
        event_ids=moved.get("event_ids", []),
    )
    keys = set(moved.get("attribute_keys", []))
    if keys:
        survivor.attributes = {k: v for k, v in survivor.attributes.items() if k not in keys}
    now = clock.now()
    survivor.updated_at = merged.updated_at = now
    merged.merged_into_id = None
    record.undone_at = now
    await _record(
        session,
        clock,
        actor,
        "contact.merge_undone",
        contact_id=survivor.id,
        merge_id=record.id,
        survivor_id=survivor.id,
        merged_id=merged.id,
    )
    return record


# Companies ------------------------------------------------------------------------------


async def get_company(session: AsyncSession, actor: Principal, company_id: int) -> Company:
    company = await repo.get_company(session, actor.account_id, company_id)
    if company is None:
        raise NotFound("company")
    return company


async def list_companies(
    session: AsyncSession,
    actor: Principal,
    *,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Company], str | None]:
    rows = await repo.list_companies(
        session,
        actor.account_id,
        q=(q or "").strip() or None,
        before_id=_cursor_id(cursor),
        limit=limit + 1,
    )
    return _page_of(rows, limit)


def _domain(domain: str | None) -> str | None:
    return (domain or "").strip().lower() or None


async def _flush_unique(session: AsyncSession, row: object, message: str, field: str) -> None:
    """Insert or update ``row``; a unique constraint hit becomes a 409 on ``field``."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(message, field=field) from exc


async def create_company(
    session: AsyncSession, clock: Clock, actor: Principal, data: CompanyCreate
) -> Company:
    name = data.name.strip()
    if await repo.get_company_by_name(session, actor.account_id, name) is not None:
        raise Conflict("a company with this name already exists", field="name")
    company = Company(
        account_id=actor.account_id,
        name=name,
        domain=_domain(data.domain),
        attributes=dict(data.attributes),
        created_at=clock.now(),
    )
    await _flush_unique(session, company, "a company with this name already exists", "name")
    await _record(
        session, clock, actor, "company.created", company_id=company.id, name=company.name
    )
    return company


async def update_company(
    session: AsyncSession, clock: Clock, actor: Principal, company_id: int, data: CompanyUpdate
) -> Company:
    company = await get_company(session, actor, company_id)
    changes = data.model_dump(exclude_unset=True)
    if data.name is not None and data.name.strip() != company.name:
        name = data.name.strip()
        if await repo.get_company_by_name(session, actor.account_id, name) is not None:
            raise Conflict("a company with this name already exists", field="name")
        company.name = name
    if "domain" in changes:
        company.domain = _domain(data.domain)
    if data.attributes is not None:
        company.attributes = dict(data.attributes)
    await _flush_unique(session, company, "a company with this name already exists", "name")
    await _record(
        session, clock, actor, "company.updated", company_id=company.id, fields=sorted(changes)
    )
    return company


async def delete_company(
    session: AsyncSession, clock: Clock, actor: Principal, company_id: int
) -> None:
    """Delete a company; its contacts stay, without a company (the foreign key sets null)."""
    actor.require("admin", "supervisor")
    company = await get_company(session, actor, company_id)
    await session.delete(company)
    await _record(session, clock, actor, "company.deleted", company_id=company_id)


# Attribute definitions ------------------------------------------------------------------


def _check_options(type_: str, options: Sequence[str]) -> list[str]:
    if type_ == "list" and not options:
        raise ValidationFailed("a list attribute needs at least one option", field="options")
    if type_ != "list" and options:
        raise ValidationFailed("only list attributes have options", field="options")
    if len(set(options)) != len(options):
        raise ValidationFailed("options must be unique", field="options")
    return list(options)


def _check_required(applies_to: str, required: bool) -> bool:
    if required and applies_to != "conversation":
        raise ValidationFailed(
            "only conversation fields are required on resolve", field="required_on_resolve"
        )
    return required


async def get_definition(
    session: AsyncSession, actor: Principal, definition_id: int
) -> AttributeDefinition:
    definition = await repo.get_definition(session, actor.account_id, definition_id)
    if definition is None:
        raise NotFound("attribute definition")
    return definition


async def create_definition(
    session: AsyncSession, clock: Clock, actor: Principal, data: AttributeDefinitionCreate
) -> AttributeDefinition:
    actor.require("admin")
    definition = AttributeDefinition(
        account_id=actor.account_id,
        applies_to=data.applies_to,
        key=data.key,
        label=data.label,
        type=data.type,
        options=_check_options(data.type, data.options),
        required_on_resolve=_check_required(data.applies_to, data.required_on_resolve),
        created_at=clock.now(),
    )
    existing = await repo.list_definitions(session, actor.account_id, data.applies_to)
    message = f"a {data.applies_to} attribute with this key already exists"
    if any(d.key == data.key for d in existing):
        raise Conflict(message, field="key")
    await _flush_unique(session, definition, message, "key")
    await _record(
        session,
        clock,
        actor,
        "attribute_definition.created",
        audience="supervisors",
        definition_id=definition.id,
        key=definition.key,
    )
    return definition


async def update_definition(
    session: AsyncSession,
    clock: Clock,
    actor: Principal,
    definition_id: int,
    data: AttributeDefinitionUpdate,
) -> AttributeDefinition:
    """Relabel or change the options; key and type stay, as stored values depend on them."""
    actor.require("admin")
    definition = await get_definition(session, actor, definition_id)
    if data.label is not None:
        definition.label = data.label
    if data.options is not None:
        definition.options = _check_options(definition.type, data.options)
    if data.required_on_resolve is not None:
        definition.required_on_resolve = _check_required(
            definition.applies_to, data.required_on_resolve
        )
    await _record(
        session,
        clock,
        actor,
        "attribute_definition.updated",
        audience="supervisors",
        definition_id=definition.id,
        fields=sorted(data.model_fields_set),
    )
    return definition


async def delete_definition(
    session: AsyncSession, clock: Clock, actor: Principal, definition_id: int
) -> None:
    actor.require("admin")
    definition = await get_definition(session, actor, definition_id)
    await session.delete(definition)
    await _record(
        session,
        clock,
        actor,
        "attribute_definition.deleted",
        audience="supervisors",
        definition_id=definition_id,
        key=definition.key,
    )
