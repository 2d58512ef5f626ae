from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.contacts import repository as repo
from omnidesk.contacts import service
from omnidesk.contacts.models import Contact
from omnidesk.contacts.schemas import (
    AppliesTo,
    AttributeDefinitionCreate,
    AttributeDefinitionOut,
    AttributeDefinitionUpdate,
    CompanyCreate,
    CompanyOut,
    CompanyUpdate,
    ContactCreate,
    ContactMergeOut,
    ContactOut,
    ContactUpdate,
    IdentityIn,
    IdentityOut,
    MergeIn,
)
from omnidesk.events.schemas import EventOut
from omnidesk.kit.pagination import MAX_LIMIT, Page
from omnidesk.kit.types import MAX_ROW_ID
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1")

Id = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Search = Annotated[
    str | None,
    Query(max_length=200, pattern=r"^[^\x00]*$", description="Case-insensitive search."),
]
CursorQuery = Annotated[str | None, Query(max_length=200)]


async def _contacts_out(session: AsyncSession, contacts: Sequence[Contact]) -> list[ContactOut]:
    if not contacts:
        return []
    identities = await repo.identities_of(session, [c.id for c in contacts])
    companies = await repo.companies_by_id(
        session, contacts[0].account_id, [c.company_id for c in contacts if c.company_id]
    )
    return [
        ContactOut(
            id=c.id,
            name=c.name,
            company_id=c.company_id,
            company=(
                CompanyOut.model_validate(companies[c.company_id])
                if c.company_id in companies
                else None
            ),
            attributes=c.attributes,
            identities=[IdentityOut.model_validate(i) for i in identities[c.id]],
            merged_into_id=c.merged_into_id,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )
        for c in contacts
    ]


# Contacts -------------------------------------------------------------------------------


@router.get(
    "/contacts",
    tags=["contacts"],
    summary="List contacts, newest first; search by name or any identity",
)
async def list_contacts(
    principal: PrincipalDep,
    session: SessionDep,
    q: Search = None,
    company_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    ids: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]],
        Query(
            max_length=MAX_LIMIT,
            description="Only these contacts (merged ones too): one request for a page of rows.",
        ),
    ] = [],  # noqa: B006
    cursor: CursorQuery = None,
    limit: Limit = 50,
) -> Page[ContactOut]:
    contacts, next_cursor = await service.list_contacts(
        session, principal, q=q, company_id=company_id, ids=ids, cursor=cursor, limit=limit
    )
    return Page(items=await _contacts_out(session, contacts), next_cursor=next_cursor)


@router.post(
    "/contacts",
    tags=["contacts"],
    status_code=status.HTTP_201_CREATED,
    summary="Create a contact with its identities",
)
async def create_contact(
    body: ContactCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> ContactOut:
    contact = await service.create_contact(session, clock, principal, body)
    return (await _contacts_out(session, [contact]))[0]


@router.get(
    "/contacts/{contact_id}",
    tags=["contacts"],
    summary="One contact with identities and company (a merged one has merged_into_id)",
)
async def get_contact(contact_id: Id, principal: PrincipalDep, session: SessionDep) -> ContactOut:
    contact = await service.get_contact(session, principal, contact_id)
    return (await _contacts_out(session, [contact]))[0]


@router.patch("/contacts/{contact_id}", tags=["contacts"], summary="Change a contact")
async def update_contact(
    contact_id: Id,
    body: ContactUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> ContactOut:
    contact = await service.update_contact(session, clock, principal, contact_id, body)
    return (await _contacts_out(session, [contact]))[0]


@router.post(
    "/contacts/{contact_id}/identities",
    tags=["contacts"],
    status_code=status.HTTP_201_CREATED,
    summary="Add an identity (email, phone, …) to a contact",
)
async def add_identity(
    contact_id: Id, body: IdentityIn, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> IdentityOut:
    identity = await service.add_identity(session, clock, principal, contact_id, body)
    return IdentityOut.model_validate(identity)


@router.delete(
    "/contacts/{contact_id}/identities/{identity_id}",
    tags=["contacts"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an identity from a contact",
)
async def remove_identity(
    contact_id: Id, identity_id: Id, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.remove_identity(session, clock, principal, contact_id, identity_id)


@router.get(
    "/contacts/{contact_id}/events",
    tags=["contacts"],
    summary="The contact's timeline: its latest events, newest first",
)
async def contact_events(
    contact_id: Id, principal: PrincipalDep, session: SessionDep
) -> list[EventOut]:
    found = await service.contact_timeline(session, principal, contact_id)
    return [EventOut.model_validate(e) for e in found]


@router.post(
    "/contacts/{contact_id}/merge",
    tags=["contacts"],
    status_code=status.HTTP_201_CREATED,
    summary="Merge another contact into this one (admin or supervisor)",
)
async def merge_contacts(
    contact_id: Id, body: MergeIn, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> ContactMergeOut:
    record = await service.merge_contacts(session, clock, principal, contact_id, body.contact_id)
    return ContactMergeOut.model_validate(record)


@router.post(
    "/contact-merges/{merge_id}/undo",
    tags=["contacts"],
    summary="Undo a merge: move back exactly what it moved (admin)",
)
async def undo_merge(
    merge_id: Id, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> ContactMergeOut:
    record = await service.undo_merge(session, clock, principal, merge_id)
    return ContactMergeOut.model_validate(record)


# Companies ------------------------------------------------------------------------------


@router.get("/companies", tags=["companies"], summary="List companies, newest first")
async def list_companies(
    principal: PrincipalDep,
    session: SessionDep,
    q: Search = None,
    cursor: CursorQuery = None,
    limit: Limit = 50,
) -> Page[CompanyOut]:
    companies, next_cursor = await service.list_companies(
        session, principal, q=q, cursor=cursor, limit=limit
    )
    return Page(items=[CompanyOut.model_validate(c) for c in companies], next_cursor=next_cursor)


@router.post(
    "/companies",
    tags=["companies"],
    status_code=status.HTTP_201_CREATED,
    summary="Create a company (its name is unique in the account)",
)
async def create_company(
    body: CompanyCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> CompanyOut:
    return CompanyOut.model_validate(await service.create_company(session, clock, principal, body))


@router.get("/companies/{company_id}", tags=["companies"], summary="One company")
async def get_company(company_id: Id, principal: PrincipalDep, session: SessionDep) -> CompanyOut:
    return CompanyOut.model_validate(await service.get_company(session, principal, company_id))


@router.patch("/companies/{company_id}", tags=["companies"], summary="Change a company")
async def update_company(
    company_id: Id,
    body: CompanyUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> CompanyOut:
    company = await service.update_company(session, clock, principal, company_id, body)
    return CompanyOut.model_validate(company)


@router.delete(
    "/companies/{company_id}",
    tags=["companies"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a company; its contacts stay (admin or supervisor)",
)
async def delete_company(
    company_id: Id, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.delete_company(session, clock, principal, company_id)


# Attribute definitions ------------------------------------------------------------------


@router.get(
    "/attribute-definitions",
    tags=["attributes"],
    summary="List custom attribute definitions",
)
async def list_definitions(
    principal: PrincipalDep, session: SessionDep, applies_to: AppliesTo | None = None
) -> list[AttributeDefinitionOut]:
    found = await repo.list_definitions(session, principal.account_id, applies_to)
    return [AttributeDefinitionOut.model_validate(d) for d in found]


@router.post(
    "/attribute-definitions",
    tags=["attributes"],
    status_code=status.HTTP_201_CREATED,
    summary="Define a custom attribute (admin)",
)
async def create_definition(
    body: AttributeDefinitionCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> AttributeDefinitionOut:
    definition = await service.create_definition(session, clock, principal, body)
    return AttributeDefinitionOut.model_validate(definition)


@router.get(
    "/attribute-definitions/{definition_id}",
    tags=["attributes"],
    summary="One custom attribute definition",
)
async def get_definition(
    definition_id: Id, principal: PrincipalDep, session: SessionDep
) -> AttributeDefinitionOut:
    definition = await service.get_definition(session, principal, definition_id)
    return AttributeDefinitionOut.model_validate(definition)


@router.patch(
    "/attribute-definitions/{definition_id}",
    tags=["attributes"],
    summary="Relabel a custom attribute or change its options (admin)",
)
async def update_definition(
    definition_id: Id,
    body: AttributeDefinitionUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> AttributeDefinitionOut:
    definition = await service.update_definition(session, clock, principal, definition_id, body)
    return AttributeDefinitionOut.model_validate(definition)


@router.delete(
    "/attribute-definitions/{definition_id}",
    tags=["attributes"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a custom attribute definition (admin); stored values stay",
)
async def delete_definition(
    definition_id: Id, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.delete_definition(session, clock, principal, definition_id)
