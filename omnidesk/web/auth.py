"""Authentication for HTTP and websockets: bearer API tokens or the session cookie + CSRF."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts import service as accounts
from omnidesk.accounts.principal import Principal
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import Forbidden, Unauthorized
from omnidesk.kit.security import constant_time_equals
from omnidesk.web.deps import ClockDep, SessionDep

SESSION_COOKIE = "omnidesk_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def resolve(
    session: AsyncSession, clock: Clock, *, authorization: str | None, cookie: str | None
) -> accounts.Authenticated | None:
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        found = await accounts.authenticate_token(session, clock, token.strip())
        if found is None:
            raise Unauthorized("the API token is unknown or revoked")
        return found
    if cookie:
        return await accounts.authenticate_session(session, clock, cookie)
    return None


async def current_principal(request: Request, session: SessionDep, clock: ClockDep) -> Principal:
    found = await resolve(
        session,
        clock,
        authorization=request.headers.get("authorization"),
        cookie=request.cookies.get(SESSION_COOKIE),
    )
    if found is None:
        raise Unauthorized("log in or send an API token")
    if found.principal.via == "session" and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not found.csrf_token or not constant_time_equals(sent, found.csrf_token):
            raise Forbidden(f"missing or wrong {CSRF_HEADER} header", field=CSRF_HEADER)
    structlog.contextvars.bind_contextvars(
        account_id=found.principal.account_id, user_id=found.principal.user_id
    )
    request.state.principal = found.principal
    request.state.csrf_token = found.csrf_token
    return found.principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
