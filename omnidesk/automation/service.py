"""Canned responses: shared per account or team (admins manage those), or personal. Never
commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts import repository as accounts_repo
from omnidesk.accounts.principal import Principal
from omnidesk.automation import repository as repo
from omnidesk.automation import sharing, templates
from omnidesk.automation.models import CannedResponse
from omnidesk.automation.schemas import CannedResponseCreate, CannedResponseUpdate
from omnidesk.contacts import repository as contacts_repo
from omnidesk.conversations import service as conversations
from omnidesk.conversations.models import Conversation
from omnidesk.events import service as events
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import Conflict, NotFound, ValidationFailed

CREATED = "canned_response.created"
UPDATED = "canned_response.updated"
DELETED = "canned_response.deleted"


def _check_body(body: str) -> None:
    unknown = templates.unknown_variables(body)
    if unknown:
        raise ValidationFailed(
            "unknown variables: "
            + ", ".join("{{" + name + "}}" for name in unknown)
            + " (see GET /api/v1/canned-responses/variables)",
            field="body",
        )


async def _check_shortcut_free(
    session: AsyncSession, principal: Principal, canned: CannedResponse, shortcut: str
) -> None:
    if await repo.same_shortcut(
        session,
        principal.account_id,
        scope=canned.scope,
        team_id=canned.team_id,
        owner_id=canned.owner_id,
        shortcut=shortcut,
        except_id=canned.id,
    ):
        raise Conflict(f"a canned response of this scope already has /{shortcut}", field="shortcut")


async def _record(
    session: AsyncSession, clock: Clock, principal: Principal, type_: str, canned: CannedResponse
) -> None:
    # Ids only: a personal response's text is its owner's business.
    await events.record(
        session,
        account_id=principal.account_id,
        type=type_,
        actor_user_id=principal.user_id,
        team_id=canned.team_id,
        data={"canned_response_id": canned.id, "scope": canned.scope, "team_id": canned.team_id},
        clock=clock,
    )


async def list_canned(
    session: AsyncSession,
    principal: Principal,
    *,
    q: str | None,
    after: tuple[str, int] | None,
    limit: int,
) -> Sequence[CannedResponse]:
    return await repo.list_visible(session, principal, q=q, after=after, limit=limit)


async def get_canned(session: AsyncSession, principal: Principal, canned_id: int) -> CannedResponse:
    canned = await repo.get_visible(session, principal, canned_id)
    if canned is None:
        raise NotFound("canned response")
    return canned


async def create_canned(
    session: AsyncSession, clock: Clock, principal: Principal, data: CannedResponseCreate
) -> CannedResponse:
    await sharing.check_new(session, principal, data.scope, data.team_id, "canned response")
    _check_body(data.body)
    now = clock.now()
    canned = CannedResponse(
        account_id=principal.account_id,
        scope=data.scope,
        team_id=data.team_id if data.scope == "team" else None,
        owner_id=principal.user_id if data.scope == "personal" else None,
        shortcut=data.shortcut.lower(),
        title=data.title,
        body=data.body,
        created_by_id=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    await _check_shortcut_free(session, principal, canned, canned.shortcut)
    session.add(canned)
    await session.flush()
    await _record(session, clock, principal, CREATED, canned)
    return canned


async def update_canned(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    canned_id: int,
    data: CannedResponseUpdate,
) -> CannedResponse:
    canned = await get_canned(session, principal, canned_id)
    sharing.check_may_edit(principal, canned, "canned response")
    if data.shortcut is not None and data.shortcut.lower() != canned.shortcut:
        await _check_shortcut_free(session, principal, canned, data.shortcut.lower())
        canned.shortcut = data.shortcut.lower()
    if data.title is not None:
        canned.title = data.title
    if data.body is not None:
        _check_body(data.body)
        canned.body = data.body
    canned.updated_at = clock.now()
    await session.flush()
    await _record(session, clock, principal, UPDATED, canned)
    return canned


async def delete_canned(
    session: AsyncSession, clock: Clock, principal: Principal, canned_id: int
) -> None:
    canned = await get_canned(session, principal, canned_id)
    sharing.check_may_edit(principal, canned, "canned response")
    await _record(session, clock, principal, DELETED, canned)
    await session.delete(canned)
    await session.flush()


async def render(
    session: AsyncSession, principal: Principal, conversation_id: int, canned_id: int
) -> tuple[CannedResponse, templates.Rendered]:
    """The response's body filled in for a conversation the caller may see, as the caller."""
    conversation = await conversations.get_conversation(session, principal, conversation_id)
    canned = await get_canned(session, principal, canned_id)
    values = await values_for(session, conversation, principal.user_id)
    return canned, templates.render(canned.body, values)


async def values_for(
    session: AsyncSession, conversation: Conversation, agent_id: int | None
) -> dict[str, str]:
    """Every variable's value for a conversation and the agent (None: nobody) writing."""
    account_id = conversation.account_id
    contact = await contacts_repo.get_contact(session, account_id, conversation.contact_id)
    agent = (
        await accounts_repo.get_user(session, account_id, agent_id)
        if agent_id is not None
        else None
    )
    email = await repo.first_email(session, account_id, contact.id) if contact is not None else None
    return templates.values_for(
        contact_name=contact.name if contact is not None else "",
        contact_email=email,
        contact_attributes=(contact.attributes or {}) if contact is not None else {},
        agent_name=agent.name if agent is not None else None,
        conversation_id=conversation.id,
    )
