"""Use cases for accounts, users, teams, sessions and tokens. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts import repository as repo
from omnidesk.accounts.models import Account, ApiToken, Team, User, UserSession
from omnidesk.accounts.principal import Principal
from omnidesk.accounts.schemas import TeamCreate, TeamUpdate, UserCreate, UserUpdate
from omnidesk.events import service as events
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from omnidesk.kit.security import hash_password, hash_token, new_token, verify_password

TOKEN_PREFIX = "odk_"  # noqa: S105 (a prefix, not a secret)
# Verifying against a real hash when the user is unknown keeps login time constant.
_DUMMY_HASH = hash_password("omnidesk-timing-equaliser")


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def create_account(
    session: AsyncSession,
    clock: Clock,
    *,
    name: str,
    admin_email: str,
    admin_name: str,
    admin_password: str,
) -> tuple[Account, User]:
    if await repo.get_user_by_email(session, normalise_email(admin_email)):
        raise Conflict("a user with this email already exists", field="email")
    account = Account(name=name, settings={}, created_at=clock.now())
    session.add(account)
    await session.flush()
    admin = await create_user(
        session,
        clock,
        Principal.system(account.id),
        UserCreate(email=admin_email, name=admin_name, role="admin", password=admin_password),
    )
    await events.record(
        session,
        account_id=account.id,
        type="account.created",
        data={"name": name},
        clock=clock,
    )
    return account, admin


async def create_user(
    session: AsyncSession, clock: Clock, actor: Principal, data: UserCreate
) -> User:
    actor.require("admin")
    email = normalise_email(str(data.email))
    if await repo.get_user_by_email(session, email):
        raise Conflict("a user with this email already exists", field="email")
    user = User(
        account_id=actor.account_id,
        email=email,
        name=data.name,
        role=data.role,
        password_hash=hash_password(data.password),
        active=True,
        created_at=clock.now(),
    )
    session.add(user)
    await session.flush()
    await events.record(
        session,
        account_id=actor.account_id,
        type="user.created",
        actor_user_id=actor.user_id,
        data={"user_id": user.id, "role": user.role},
        clock=clock,
    )
    return user


async def get_user(session: AsyncSession, actor: Principal, user_id: int) -> User:
    user = await repo.get_user(session, actor.account_id, user_id)
    if user is None:
        raise NotFound("user")
    return user


async def update_user(
    session: AsyncSession, clock: Clock, actor: Principal, user_id: int, data: UserUpdate
) -> User:
    if actor.user_id != user_id or data.role is not None or data.active is not None:
        actor.require("admin")
    user = await get_user(session, actor, user_id)
    if user.id == actor.user_id and (data.active is False or data.role not in (None, "admin")):
        raise ValidationFailed("admins cannot demote or deactivate themselves", field="role")
    changes = data.model_dump(exclude_unset=True, exclude={"password"})
    for key, value in changes.items():
        setattr(user, key, value)
    if data.password is not None:
        user.password_hash = hash_password(data.password)
    await events.record(
        session,
        account_id=actor.account_id,
        type="user.updated",
        actor_user_id=actor.user_id,
        data={
            "user_id": user.id,
            "fields": sorted(changes) + (["password"] if data.password else []),
        },
        clock=clock,
    )
    ended = sessions_ended_by(actor, user_id, data)
    if ended is not None:
        await _end_sessions(session, clock, actor, user.id, ended)
    return user


@dataclass(frozen=True)
class SessionsEnded:
    """A change of a user that ends their browser sessions."""

    reason: str
    #: The one session that stays: the caller's own, when they changed their own password.
    kept_session_id: int | None = None

    @property
    def everywhere(self) -> bool:
        """No browser of theirs stays logged in: they are out of routing too."""
        return self.kept_session_id is None


def sessions_ended_by(actor: Principal, user_id: int, data: UserUpdate) -> SessionsEnded | None:
    """A deactivated user is out everywhere; a new password ends every other browser's
    session (one stolen with the old password must not outlive it) but the caller's own."""
    if data.active is False:
        return SessionsEnded("deactivated")
    if data.password is not None:
        own = actor.user_id == user_id and actor.via == "session"
        return SessionsEnded("password_changed", actor.session_id if own else None)
    return None


async def _end_sessions(
    session: AsyncSession, clock: Clock, actor: Principal, user_id: int, ended: SessionsEnded
) -> None:
    # The event closes the user's open desktop sockets (realtime/connection.py), all but the
    # kept session's.
    await repo.revoke_sessions_of(session, user_id, clock.now(), keep=ended.kept_session_id)
    await events.record(
        session,
        account_id=actor.account_id,
        type="user.signed_out",
        actor_user_id=actor.user_id,
        data={
            "user_id": user_id,
            "reason": ended.reason,
            "kept_session_id": ended.kept_session_id,
        },
        clock=clock,
    )


async def sign_out_user(
    session: AsyncSession, clock: Clock, actor: Principal, user_id: int
) -> None:
    actor.require("admin", "supervisor")
    user = await get_user(session, actor, user_id)
    await _end_sessions(session, clock, actor, user.id, SessionsEnded("signed_out"))


# Login sessions -------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    user: User
    token: str
    csrf_token: str
    record: UserSession


async def login(
    session: AsyncSession, clock: Clock, *, email: str, password: str, ttl: timedelta
) -> NewSession:
    user = await repo.get_user_by_email(session, normalise_email(email))
    if user is None or not user.password_hash:
        verify_password(_DUMMY_HASH, password)
        raise Unauthorized("email or password is wrong")
    if not verify_password(user.password_hash, password) or not user.active:
        raise Unauthorized("email or password is wrong")
    token = new_token()
    csrf = new_token(nbytes=24)
    now = clock.now()
    record = UserSession(
        account_id=user.account_id,
        user_id=user.id,
        token_hash=hash_token(token),
        csrf_token=csrf,
        created_at=now,
        expires_at=now + ttl,
    )
    user.last_login_at = now
    session.add(record)
    await session.flush()
    return NewSession(user=user, token=token, csrf_token=csrf, record=record)


async def logout(session: AsyncSession, clock: Clock, session_id: int) -> bool:
    """End a browser session. True when it was the user's last live one: they have left
    (the caller takes them out of routing); an API token's revocation is no such thing."""
    record = await session.get(UserSession, session_id)
    if record is None or record.revoked_at is not None:
        return False
    record.revoked_at = clock.now()
    await session.flush()
    return not await repo.has_live_session(session, record.user_id, clock.now())


@dataclass(frozen=True)
class Authenticated:
    principal: Principal
    csrf_token: str | None


async def authenticate_session(
    session: AsyncSession, clock: Clock, token: str
) -> Authenticated | None:
    record = await repo.get_session_by_hash(session, hash_token(token))
    if record is None or record.revoked_at is not None or record.expires_at <= clock.now():
        return None
    return await _principal_for(session, record.account_id, record.user_id, "session", record)


async def authenticate_token(
    session: AsyncSession, clock: Clock, token: str
) -> Authenticated | None:
    record = await repo.get_token_by_hash(session, hash_token(token))
    if record is None or record.revoked_at is not None:
        return None
    now = clock.now()
    # Written at most once a minute so that a busy integration does not write on every call.
    if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1):
        record.last_used_at = now
    return await _principal_for(session, record.account_id, record.user_id, "token", None)


async def _principal_for(
    session: AsyncSession,
    account_id: int,
    user_id: int,
    via: str,
    record: UserSession | None,
) -> Authenticated | None:
    user = await repo.get_user(session, account_id, user_id)
    if user is None or not user.active:
        return None
    principal = Principal(
        account_id=account_id,
        user_id=user.id,
        role=user.role,
        team_ids=await repo.team_ids_of(session, user.id),
        via="session" if via == "session" else "token",
        session_id=record.id if record else None,
    )
    return Authenticated(principal=principal, csrf_token=record.csrf_token if record else None)


# API tokens -----------------------------------------------------------------------------


async def create_api_token(
    session: AsyncSession, clock: Clock, actor: Principal, name: str
) -> tuple[ApiToken, str]:
    actor.require("admin")
    if actor.user_id is None:
        raise ValidationFailed("a token must act as a user")
    token = new_token(TOKEN_PREFIX)
    record = ApiToken(
        account_id=actor.account_id,
        user_id=actor.user_id,
        name=name,
        token_hash=hash_token(token),
        prefix=token[: len(TOKEN_PREFIX) + 6],
        created_at=clock.now(),
    )
    session.add(record)
    await session.flush()
    await events.record(
        session,
        account_id=actor.account_id,
        type="api_token.created",
        audience="supervisors",
        actor_user_id=actor.user_id,
        data={"token_id": record.id, "name": name},
        clock=clock,
    )
    return record, token


async def revoke_api_token(
    session: AsyncSession, clock: Clock, actor: Principal, token_id: int
) -> ApiToken:
    actor.require("admin")
    record = await repo.get_token(session, actor.account_id, token_id)
    if record is None:
        raise NotFound("api token")
    if record.revoked_at is None:
        record.revoked_at = clock.now()
        await events.record(
            session,
            account_id=actor.account_id,
            type="api_token.revoked",
            audience="supervisors",
            actor_user_id=actor.user_id,
            data={"token_id": record.id},
            clock=clock,
        )
    return record


# Teams ----------------------------------------------------------------------------------


async def _check_members(session: AsyncSession, actor: Principal, ids: Sequence[int]) -> None:
    unique = set(ids)
    if await repo.count_users_in(session, actor.account_id, list(unique)) != len(unique):
        raise NotFound("user", field="member_ids")


async def get_team(session: AsyncSession, actor: Principal, team_id: int) -> Team:
    team = await repo.get_team(session, actor.account_id, team_id)
    if team is None:
        raise NotFound("team")
    return team


async def create_team(
    session: AsyncSession, clock: Clock, actor: Principal, data: TeamCreate
) -> Team:
    actor.require("admin")
    await _check_members(session, actor, data.member_ids)
    team = Team(
        account_id=actor.account_id,
        name=data.name,
        description=data.description,
        created_at=clock.now(),
    )
    session.add(team)
    try:
        async with session.begin_nested():
            await session.flush()
    except Exception as exc:
        raise Conflict("a team with this name already exists", field="name") from exc
    await repo.set_members(session, team.id, data.member_ids)
    await events.record(
        session,
        account_id=actor.account_id,
        type="team.created",
        actor_user_id=actor.user_id,
        team_id=team.id,
        data={"team_id": team.id, "name": team.name},
        clock=clock,
    )
    return team


async def update_team(
    session: AsyncSession, clock: Clock, actor: Principal, team_id: int, data: TeamUpdate
) -> Team:
    actor.require("admin")
    team = await get_team(session, actor, team_id)
    if data.name is not None and data.name != team.name:
        if any(t.name == data.name for t in await repo.list_teams(session, actor.account_id)):
            raise Conflict("a team with this name already exists", field="name")
        team.name = data.name
    if data.description is not None:
        team.description = data.description
    if data.member_ids is not None:
        await _check_members(session, actor, data.member_ids)
        await repo.set_members(session, team.id, data.member_ids)
    await events.record(
        session,
        account_id=actor.account_id,
        type="team.updated",
        actor_user_id=actor.user_id,
        team_id=team.id,
        data={"team_id": team.id},
        clock=clock,
    )
    return team


async def delete_team(session: AsyncSession, clock: Clock, actor: Principal, team_id: int) -> None:
    actor.require("admin")
    team = await get_team(session, actor, team_id)
    await session.delete(team)
    await events.record(
        session,
        account_id=actor.account_id,
        type="team.deleted",
        actor_user_id=actor.user_id,
        data={"team_id": team_id},
        clock=clock,
    )
