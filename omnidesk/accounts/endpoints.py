from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from omnidesk.accounts import repository as repo
from omnidesk.accounts import service
from omnidesk.accounts.models import Team
from omnidesk.accounts.schemas import (
    AccountOut,
    AccountUpdate,
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenOut,
    LoginIn,
    MeOut,
    TeamCreate,
    TeamOut,
    TeamUpdate,
    UserCreate,
    UserOut,
    UserUpdate,
)
from omnidesk.events import service as events
from omnidesk.kit.errors import NotFound
from omnidesk.kit.types import RowId
from omnidesk.routing import service as routing
from omnidesk.web.auth import SESSION_COOKIE, PrincipalDep
from omnidesk.web.deps import ClockDep, ContainerDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1")
auth = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@auth.post("/login", summary="Log in with email and password (sets the session cookie)")
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    container: ContainerDep,
) -> MeOut:
    client = request.client.host if request.client else "unknown"
    await container.rate_limiter.hit(
        f"login:{client}:{body.email.lower()}", limit=settings.login_attempts_per_minute
    )
    new = await service.login(
        session,
        clock,
        email=body.email,
        password=body.password,
        ttl=timedelta(hours=settings.session_ttl_hours),
    )
    response.set_cookie(
        SESSION_COOKIE,
        new.token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_ttl_hours * 3600,
        path="/",
    )
    account = await repo.get_account(session, new.user.account_id)
    assert account is not None
    return MeOut(
        user=UserOut.model_validate(new.user),
        account=AccountOut.model_validate(account),
        team_ids=sorted(await repo.team_ids_of(session, new.user.id)),
        csrf_token=new.csrf_token,
    )


@auth.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End the current browser session",
    description="When it was the user's last live session, their routing presence becomes "
    "`offline` (reason `logged_out`) and their open offers go to other agents.",
)
async def logout(
    principal: PrincipalDep, response: Response, session: SessionDep, clock: ClockDep
) -> None:
    if principal.session_id is not None:
        last = await service.logout(session, clock, principal.session_id)
        if last and principal.user_id is not None:
            # Gone until they log in again: offline in this transaction, and the router
            # (woken by the event) gives their open offers to others.
            await routing.log_out(session, clock, principal.account_id, principal.user_id)
    response.delete_cookie(SESSION_COOKIE, path="/")


@auth.get("/me", summary="The current user, account, teams and CSRF token")
async def me(principal: PrincipalDep, request: Request, session: SessionDep) -> MeOut:
    assert principal.user_id is not None
    user = await service.get_user(session, principal, principal.user_id)
    account = await repo.get_account(session, principal.account_id)
    assert account is not None
    return MeOut(
        user=UserOut.model_validate(user),
        account=AccountOut.model_validate(account),
        team_ids=sorted(principal.team_ids),
        csrf_token=request.state.csrf_token,
    )


@router.get("/account", tags=["accounts"], summary="The caller's account")
async def get_account(principal: PrincipalDep, session: SessionDep) -> AccountOut:
    account = await repo.get_account(session, principal.account_id)
    if account is None:
        raise NotFound("account")
    return AccountOut.model_validate(account)


@router.patch(
    "/account", tags=["accounts"], summary="Rename the account or change its settings (admin)"
)
async def update_account(
    body: AccountUpdate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> AccountOut:
    principal.require("admin")
    account = await repo.get_account(session, principal.account_id)
    if account is None:
        raise NotFound("account")
    if body.name is not None:
        account.name = body.name
    if body.link_phone_channels is not None:
        account.settings = {**account.settings, "link_phone_channels": body.link_phone_channels}
    await events.record(
        session,
        account_id=account.id,
        type="account.updated",
        actor_user_id=principal.user_id,
        data=body.model_dump(exclude_none=True),
        clock=clock,
    )
    return AccountOut.model_validate(account)


# Users ----------------------------------------------------------------------------------


@router.get("/users", tags=["users"], summary="List the account's users")
async def list_users(principal: PrincipalDep, session: SessionDep) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in await repo.list_users(session, principal.account_id)]


@router.post(
    "/users", tags=["users"], status_code=status.HTTP_201_CREATED, summary="Create a user (admin)"
)
async def create_user(
    body: UserCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> UserOut:
    return UserOut.model_validate(await service.create_user(session, clock, principal, body))


@router.get("/users/{user_id}", tags=["users"], summary="One user")
async def get_user(user_id: RowId, principal: PrincipalDep, session: SessionDep) -> UserOut:
    return UserOut.model_validate(await service.get_user(session, principal, user_id))


@router.patch(
    "/users/{user_id}",
    tags=["users"],
    summary="Change a user (admin), or your own name and password",
    description="Deactivating a user ends every browser session of theirs, closes their "
    "desktop's sockets (code 4401) and takes them out of routing, as `POST "
    "/users/{id}/sign-out` does. A new password ends every other browser's session of the "
    "user (and their sockets); the caller's own session stays when they changed their own "
    "password, else the user is signed out everywhere.",
)
async def update_user(
    user_id: RowId, body: UserUpdate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> UserOut:
    user = await service.update_user(session, clock, principal, user_id, body)
    ended = service.sessions_ended_by(principal, user_id, body)
    if ended is not None and ended.everywhere:
        await routing.log_out(
            session,
            clock,
            principal.account_id,
            user_id,
            reason=routing.SIGNED_OUT,
            actor_user_id=principal.user_id,
        )
    return UserOut.model_validate(user)


@router.post(
    "/users/{user_id}/sign-out",
    tags=["users"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign a user out: end every browser session of theirs (supervisor)",
    description="Their browser sessions are revoked and their open agent websockets closed "
    "(code 4401); their routing presence becomes `offline` (reason `signed_out`) and the "
    "router gives their open offers to other agents, as on logout; work they accepted stays "
    "theirs. Their API tokens are left alone (revoke those with `DELETE /api-tokens/{id}`).",
    responses={
        403: {"description": "The caller is an agent"},
        404: {"description": "No such user in the caller's account"},
    },
)
async def sign_out_user(
    user_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.sign_out_user(session, clock, principal, user_id)
    await routing.log_out(
        session,
        clock,
        principal.account_id,
        user_id,
        reason=routing.SIGNED_OUT,
        actor_user_id=principal.user_id,
    )


# Teams ----------------------------------------------------------------------------------


async def _team_out(session: SessionDep, teams: list[Team]) -> list[TeamOut]:
    members = await repo.member_ids(session, [t.id for t in teams])
    return [
        TeamOut(id=t.id, name=t.name, description=t.description, member_ids=members[t.id])
        for t in teams
    ]


@router.get("/teams", tags=["teams"], summary="List teams with their members")
async def list_teams(principal: PrincipalDep, session: SessionDep) -> list[TeamOut]:
    return await _team_out(session, list(await repo.list_teams(session, principal.account_id)))


@router.post(
    "/teams", tags=["teams"], status_code=status.HTTP_201_CREATED, summary="Create a team (admin)"
)
async def create_team(
    body: TeamCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> TeamOut:
    team = await service.create_team(session, clock, principal, body)
    return (await _team_out(session, [team]))[0]


@router.get("/teams/{team_id}", tags=["teams"], summary="One team")
async def get_team(team_id: RowId, principal: PrincipalDep, session: SessionDep) -> TeamOut:
    team = await service.get_team(session, principal, team_id)
    return (await _team_out(session, [team]))[0]


@router.patch("/teams/{team_id}", tags=["teams"], summary="Change a team (admin)")
async def update_team(
    team_id: RowId, body: TeamUpdate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> TeamOut:
    team = await service.update_team(session, clock, principal, team_id, body)
    return (await _team_out(session, [team]))[0]


@router.delete(
    "/teams/{team_id}",
    tags=["teams"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a team (admin)",
)
async def delete_team(
    team_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.delete_team(session, clock, principal, team_id)


# API tokens -----------------------------------------------------------------------------


@router.get("/api-tokens", tags=["api tokens"], summary="List API tokens (admin)")
async def list_tokens(principal: PrincipalDep, session: SessionDep) -> list[ApiTokenOut]:
    principal.require("admin")
    return [
        ApiTokenOut.model_validate(t) for t in await repo.list_tokens(session, principal.account_id)
    ]


@router.post(
    "/api-tokens",
    tags=["api tokens"],
    status_code=status.HTTP_201_CREATED,
    summary="Create an API token acting as you (admin); the token is shown once",
)
async def create_token(
    body: ApiTokenCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> ApiTokenCreated:
    record, token = await service.create_api_token(session, clock, principal, body.name)
    return ApiTokenCreated(**ApiTokenOut.model_validate(record).model_dump(), token=token)


@router.delete("/api-tokens/{token_id}", tags=["api tokens"], summary="Revoke an API token (admin)")
async def revoke_token(
    token_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> ApiTokenOut:
    return ApiTokenOut.model_validate(
        await service.revoke_api_token(session, clock, principal, token_id)
    )
