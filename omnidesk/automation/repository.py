from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.principal import Principal
from omnidesk.automation.models import CannedResponse, Macro, Rule, RuleRun
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


# Rules -----------------------------------------------------------------------------------


async def list_rules(session: AsyncSession, account_id: int) -> Sequence[Rule]:
    """In the order they run."""
    rows = await session.scalars(
        select(Rule).where(Rule.account_id == account_id).order_by(Rule.position, Rule.id)
    )
    return rows.all()


async def get_rule(session: AsyncSession, account_id: int, rule_id: int) -> Rule | None:
    found: Rule | None = await session.scalar(
        select(Rule).where(Rule.account_id == account_id, Rule.id == rule_id)
    )
    return found


async def enabled_triggers(session: AsyncSession, account_id: int) -> set[str]:
    """Every event type some enabled rule of the account reacts to."""
    rows = await session.scalars(
        select(Rule.triggers).where(Rule.account_id == account_id, Rule.enabled.is_(True))
    )
    return {t for triggers in rows for t in triggers}


async def get_run(session: AsyncSession, rule_id: int, event_id: int) -> RuleRun | None:
    found: RuleRun | None = await session.scalar(
        select(RuleRun).where(RuleRun.rule_id == rule_id, RuleRun.event_id == event_id)
    )
    return found


async def ran_on(session: AsyncSession, rule_id: int, conversation_id: int) -> bool:
    """Whether the rule has acted on the conversation (once per conversation)."""
    found = await session.scalar(
        select(RuleRun.id)
        .where(
            RuleRun.rule_id == rule_id,
            RuleRun.conversation_id == conversation_id,
            RuleRun.outcome == "done",
        )
        .limit(1)
    )
    return found is not None


async def list_runs(
    session: AsyncSession,
    account_id: int,
    *,
    rule_id: int | None,
    before_id: int | None,
    limit: int,
) -> Sequence[RuleRun]:
    """Newest first."""
    query = select(RuleRun).where(RuleRun.account_id == account_id)
    if rule_id is not None:
        query = query.where(RuleRun.rule_id == rule_id)
    if before_id is not None:
        query = query.where(RuleRun.id < before_id)
    return (await session.scalars(query.order_by(RuleRun.id.desc()).limit(limit))).all()


# Macros ----------------------------------------------------------------------------------


def macros_visible_to(principal: Principal) -> Select[Macro]:
    """Like canned responses: the account's, the principal's teams' (all teams' for an
    admin) and the principal's own."""
    teams = (
        Macro.scope == "team"
        if principal.role == "admin"
        else and_(Macro.scope == "team", Macro.team_id.in_(principal.team_ids or [-1]))
    )
    own = and_(Macro.scope == "personal", Macro.owner_id == (principal.user_id or -1))
    return select(Macro).where(
        Macro.account_id == principal.account_id, or_(Macro.scope == "account", teams, own)
    )


async def list_macros(session: AsyncSession, principal: Principal) -> Sequence[Macro]:
    query = macros_visible_to(principal).order_by(func.lower(Macro.name), Macro.id)
    return (await session.scalars(query)).all()


async def get_visible_macro(
    session: AsyncSession, principal: Principal, macro_id: int
) -> Macro | None:
    found: Macro | None = await session.scalar(
        macros_visible_to(principal).where(Macro.id == macro_id)
    )
    return found


async def get_macro(session: AsyncSession, account_id: int, macro_id: int) -> Macro | None:
    found: Macro | None = await session.scalar(
        select(Macro).where(Macro.account_id == account_id, Macro.id == macro_id)
    )
    return found
