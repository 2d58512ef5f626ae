from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts.models import (
    Account,
    ApiToken,
    Team,
    TeamMember,
    User,
    UserSession,
)


async def get_account(session: AsyncSession, account_id: int) -> Account | None:
    return await session.get(Account, account_id)


async def count_accounts(session: AsyncSession) -> int:
    return len((await session.scalars(select(Account.id).limit(1))).all())


async def get_user(session: AsyncSession, account_id: int, user_id: int) -> User | None:
    return await session.scalar(
        select(User).where(User.account_id == account_id, User.id == user_id)
    )


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.lower()))


async def list_users(session: AsyncSession, account_id: int) -> Sequence[User]:
    return (
        await session.scalars(select(User).where(User.account_id == account_id).order_by(User.id))
    ).all()


async def team_ids_of(session: AsyncSession, user_id: int) -> frozenset[int]:
    rows = await session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id))
    return frozenset(rows.all())


async def get_team(session: AsyncSession, account_id: int, team_id: int) -> Team | None:
    return await session.scalar(
        select(Team).where(Team.account_id == account_id, Team.id == team_id)
    )


async def list_teams(session: AsyncSession, account_id: int) -> Sequence[Team]:
    return (
        await session.scalars(select(Team).where(Team.account_id == account_id).order_by(Team.id))
    ).all()


async def member_ids(session: AsyncSession, team_ids: Sequence[int]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {team_id: [] for team_id in team_ids}
    if not team_ids:
        return result
    rows = await session.execute(
        select(TeamMember.team_id, TeamMember.user_id)
        .where(TeamMember.team_id.in_(team_ids))
        .order_by(TeamMember.user_id)
    )
    for team_id, user_id in rows:
        result[team_id].append(user_id)
    return result


async def set_members(session: AsyncSession, team_id: int, user_ids: Sequence[int]) -> None:
    await session.execute(delete(TeamMember).where(TeamMember.team_id == team_id))
    session.add_all(TeamMember(team_id=team_id, user_id=uid) for uid in sorted(set(user_ids)))


async def count_users_in(session: AsyncSession, account_id: int, user_ids: Sequence[int]) -> int:
    rows = await session.scalars(
        select(User.id).where(User.account_id == account_id, User.id.in_(user_ids))
    )
    return len(rows.all())


async def get_session_by_hash(session: AsyncSession, token_hash: str) -> UserSession | None:
    return await session.scalar(select(UserSession).where(UserSession.token_hash == token_hash))


async def revoke_sessions_of(
    session: AsyncSession, user_id: int, now: datetime, *, keep: int | None = None
) -> None:
    """End the user's browser sessions, all of them or all but ``keep``."""
    query = update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep)
    await session.execute(query.values(revoked_at=now))


async def has_live_session(session: AsyncSession, user_id: int, now: datetime) -> bool:
    """Whether the user is still logged in somewhere: a browser session not revoked nor
    expired."""
    found = await session.scalar(
        select(UserSession.id)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
        )
        .limit(1)
    )
    return found is not None


async def get_token_by_hash(session: AsyncSession, token_hash: str) -> ApiToken | None:
    return await session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))


async def get_token(session: AsyncSession, account_id: int, token_id: int) -> ApiToken | None:
    return await session.scalar(
        select(ApiToken).where(ApiToken.account_id == account_id, ApiToken.id == token_id)
    )


async def list_tokens(session: AsyncSession, account_id: int) -> Sequence[ApiToken]:
    return (
        await session.scalars(
            select(ApiToken).where(ApiToken.account_id == account_id).order_by(ApiToken.id)
        )
    ).all()
