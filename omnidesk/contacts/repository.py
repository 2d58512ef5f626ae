from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, bindparam, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.contacts.models import AttributeDefinition, Company, Contact, ContactMerge, Identity
from omnidesk.conversations.models import Conversation
from omnidesk.events.models import Event

_CHUNK = 5000


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# Contacts -------------------------------------------------------------------------------


async def get_contact(session: AsyncSession, account_id: int, contact_id: int) -> Contact | None:
    return await session.scalar(
        select(Contact).where(Contact.account_id == account_id, Contact.id == contact_id)
    )


async def lock_contacts(
    session: AsyncSession, account_id: int, contact_ids: Sequence[int]
) -> dict[int, Contact]:
    """Row-lock contacts in id order, so that two merges cannot deadlock or interleave."""
    rows = await session.scalars(
        select(Contact)
        .where(Contact.account_id == account_id, Contact.id.in_(contact_ids))
        .order_by(Contact.id)
        .with_for_update()
    )
    return {contact.id: contact for contact in rows}


async def list_contacts(
    session: AsyncSession,
    account_id: int,
    *,
    terms: Sequence[str] = (),
    company_id: int | None = None,
    ids: Sequence[int] = (),
    before_id: int | None = None,
    limit: int = 50,
) -> Sequence[Contact]:
    """Unmerged contacts, newest first; ``terms`` match the name or any identity value.
    With ``ids``: those contacts, merged ones too (they say where they went)."""
    query = select(Contact).where(Contact.account_id == account_id)
    if ids:
        query = query.where(Contact.id.in_(sorted(set(ids))))
    else:
        query = query.where(Contact.merged_into_id.is_(None))
    if terms:
        matches: list[ColumnElement[bool]] = []
        for term in terms:
            pattern = _like(term)
            owners = select(Identity.contact_id).where(
                Identity.account_id == account_id, Identity.value.ilike(pattern, escape="\\")
            )
            matches += [Contact.name.ilike(pattern, escape="\\"), Contact.id.in_(owners)]
        query = query.where(or_(*matches))
    if company_id is not None:
        query = query.where(Contact.company_id == company_id)
    if before_id is not None:
        query = query.where(Contact.id < before_id)
    return (await session.scalars(query.order_by(Contact.id.desc()).limit(limit))).all()


async def identities_of(
    session: AsyncSession, contact_ids: Iterable[int]
) -> dict[int, list[Identity]]:
    result: dict[int, list[Identity]] = {cid: [] for cid in contact_ids}
    if not result:
        return result
    rows = await session.scalars(
        select(Identity).where(Identity.contact_id.in_(result)).order_by(Identity.id)
    )
    for identity in rows:
        result[identity.contact_id].append(identity)
    return result


# Identities -----------------------------------------------------------------------------


async def get_identity(session: AsyncSession, account_id: int, identity_id: int) -> Identity | None:
    return await session.scalar(
        select(Identity).where(Identity.account_id == account_id, Identity.id == identity_id)
    )


async def find_identity(
    session: AsyncSession, account_id: int, kind: str, value: str
) -> Identity | None:
    return await session.scalar(
        select(Identity).where(
            Identity.account_id == account_id, Identity.kind == kind, Identity.value == value
        )
    )


# Built once: the inbound writer runs them for every batch (see kit/db.py, "prebuilt").
_IDENTITIES = select(Identity).where(
    Identity.account_id == bindparam("account_id"),
    tuple_(Identity.kind, Identity.value).in_(bindparam("handles", expanding=True)),
)
_CONTACTS = select(Contact).where(
    Contact.account_id == bindparam("account_id"),
    Contact.id.in_(bindparam("ids", expanding=True)),
)
_CONTACTS_LOCKED = _CONTACTS.order_by(Contact.id).with_for_update()


async def find_identities(
    session: AsyncSession, account_id: int, handles: Iterable[tuple[str, str]]
) -> list[Identity]:
    """The identities among ``(kind, value)`` handles, in one query."""
    wanted = list(dict.fromkeys(handles))
    if not wanted:
        return []
    rows = await session.scalars(_IDENTITIES, {"account_id": account_id, "handles": wanted})
    return list(rows)


async def get_contacts(
    session: AsyncSession, account_id: int, contact_ids: Iterable[int], *, lock: bool = False
) -> dict[int, Contact]:
    """Contacts by id; ``lock`` row-locks them in id order, as :func:`lock_contacts`."""
    ids = sorted(set(contact_ids))
    if not ids:
        return {}
    query = _CONTACTS_LOCKED if lock else _CONTACTS
    found = await session.scalars(query, {"account_id": account_id, "ids": ids})
    return {contact.id: contact for contact in found}


# Companies ------------------------------------------------------------------------------


async def get_company(session: AsyncSession, account_id: int, company_id: int) -> Company | None:
    return await session.scalar(
        select(Company).where(Company.account_id == account_id, Company.id == company_id)
    )


async def get_company_by_name(session: AsyncSession, account_id: int, name: str) -> Company | None:
    return await session.scalar(
        select(Company).where(Company.account_id == account_id, Company.name == name)
    )


async def companies_by_id(
    session: AsyncSession, account_id: int, company_ids: Iterable[int]
) -> dict[int, Company]:
    ids = set(company_ids)
    if not ids:
        return {}
    rows = await session.scalars(
        select(Company).where(Company.account_id == account_id, Company.id.in_(ids))
    )
    return {company.id: company for company in rows}


async def list_companies(
    session: AsyncSession,
    account_id: int,
    *,
    q: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> Sequence[Company]:
    query = select(Company).where(Company.account_id == account_id)
    if q:
        pattern = _like(q)
        query = query.where(
            or_(
                Company.name.ilike(pattern, escape="\\"),
                Company.domain.ilike(pattern, escape="\\"),
            )
        )
    if before_id is not None:
        query = query.where(Company.id < before_id)
    return (await session.scalars(query.order_by(Company.id.desc()).limit(limit))).all()


# Attribute definitions ------------------------------------------------------------------


async def list_definitions(
    session: AsyncSession, account_id: int, applies_to: str | None = None
) -> Sequence[AttributeDefinition]:
    query = select(AttributeDefinition).where(AttributeDefinition.account_id == account_id)
    if applies_to is not None:
        query = query.where(AttributeDefinition.applies_to == applies_to)
    return (await session.scalars(query.order_by(AttributeDefinition.id))).all()


async def get_definition(
    session: AsyncSession, account_id: int, definition_id: int
) -> AttributeDefinition | None:
    return await session.scalar(
        select(AttributeDefinition).where(
            AttributeDefinition.account_id == account_id, AttributeDefinition.id == definition_id
        )
    )


# Merges ---------------------------------------------------------------------------------


async def lock_merge(session: AsyncSession, account_id: int, merge_id: int) -> ContactMerge | None:
    return await session.scalar(
        select(ContactMerge)
        .where(ContactMerge.account_id == account_id, ContactMerge.id == merge_id)
        .with_for_update()
    )


async def ids_owned_by(
    session: AsyncSession, account_id: int, contact_id: int
) -> tuple[list[int], list[int], list[int]]:
    """The ids of the identities, conversations and events of one contact."""
    found: list[list[int]] = []
    for model in (Identity, Conversation, Event):
        rows = await session.scalars(
            select(model.id)
            .where(model.account_id == account_id, model.contact_id == contact_id)
            .order_by(model.id)
        )
        found.append(list(rows))
    return found[0], found[1], found[2]


async def move_to_contact(
    session: AsyncSession,
    account_id: int,
    *,
    from_id: int,
    to_id: int,
    identity_ids: Sequence[int],
    conversation_ids: Sequence[int],
    event_ids: Sequence[int],
) -> None:
    """Re-point exactly the given rows, and only while they still belong to ``from_id``.

    Moving conversations and events is the one write this context makes into another
    context's tables: a merge must carry the customer's history along.
    """
    for model, ids in (
        (Identity, identity_ids),
        (Conversation, conversation_ids),
        (Event, event_ids),
    ):
        # Chunks keep each statement under the drivers' bound-parameter limits.
        for start in range(0, len(ids), _CHUNK):
            await session.execute(
                update(model)
                .where(
                    model.account_id == account_id,
                    model.contact_id == from_id,
                    model.id.in_(ids[start : start + _CHUNK]),
                )
                .values(contact_id=to_id)
            )
