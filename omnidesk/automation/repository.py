from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.principal import Principal
from omnidesk.automation.models import CannedResponse
from omnidesk.contacts.models import Identity


def visible_to(principal: Principal) -> Select[CannedResponse]:
    """The account's shared responses, the principal's teams' (every team's for an admin,
    who manages them) and the principal's own. Nobody sees another agent's personal ones."""
    query = select(CannedResponse).where(CannedResponse.account_id == principal.account_id)
    teams = (
        CannedResponse.scope == "team"
        if principal.role == "admin"
        else and_(
            CannedResponse.scope == "team",
            CannedResponse.team_id.in_(principal.team_ids or [-1]),
        )
    )
    own = and_(
        CannedResponse.scope == "personal",
        CannedResponse.owner_id == (principal.user_id or -1),
    )
    return query.where(or_(CannedResponse.scope == "account", teams, own))


def _prefix(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


async def list_visible(
    session: AsyncSession,
    principal: Principal,
    *,
    q: str | None,
    after: tuple[str, int] | None,
    limit: int,
) -> Sequence[CannedResponse]:
    """Ordered by shortcut; ``q`` is a prefix of the shortcut or of the title (any case)."""
    query = visible_to(principal)
    if q:
        pattern = _prefix(q)
        query = query.where(
            or_(
                CannedResponse.shortcut.like(pattern, escape="\\"),
                func.lower(CannedResponse.title).like(pattern, escape="\\"),
            )
        )
    if after is not None:
        shortcut, id_ = after
        query = query.where(
            or_(
                CannedResponse.shortcut > shortcut,
                and_(CannedResponse.shortcut == shortcut, CannedResponse.id > id_),
            )
        )
    query = query.order_by(CannedResponse.shortcut, CannedResponse.id).limit(limit)
    return (await session.scalars(query)).all()


async def get_visible(
    session: AsyncSession, principal: Principal, canned_id: int
) -> CannedResponse | None:
    found: CannedResponse | None = await session.scalar(
        visible_to(principal).where(CannedResponse.id == canned_id)
    )
    return found


async def same_shortcut(
    session: AsyncSession,
    account_id: int,
    *,
    scope: str,
    team_id: int | None,
    owner_id: int | None,
    shortcut: str,
    except_id: int | None = None,
) -> bool:
    """Whether another response of the same audience already has ``shortcut``."""
    query = select(CannedResponse.id).where(
        CannedResponse.account_id == account_id,
        CannedResponse.scope == scope,
        CannedResponse.shortcut == shortcut,
    )
    if scope == "team":
        query = query.where(CannedResponse.team_id == team_id)
    if scope == "personal":
        query = query.where(CannedResponse.owner_id == owner_id)
    if except_id is not None:
        query = query.where(CannedResponse.id != except_id)
    return (await session.scalar(query.limit(1))) is not None


async def first_email(session: AsyncSession, account_id: int, contact_id: int) -> str | None:
    value: str | None = await session.scalar(
        select(Identity.value)
        .where(
            Identity.account_id == account_id,
            Identity.contact_id == contact_id,
            Identity.kind == "email",
        )
        .order_by(Identity.id)
        .limit(1)
    )
    return value
