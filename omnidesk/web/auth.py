"""Authentication for HTTP and websockets: bearer API tokens or the session cookie + CSRF."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import structlog
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts import service as accounts
from omnidesk.accounts.principal import Principal
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import Forbidden, Unauthorized
from omnidesk.kit.security import constant_time_equals
from omnidesk.web.deps import ContainerDep

if TYPE_CHECKING:
    from omnidesk.bootstrap import Container

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


async def authenticate(
    container: Container, *, authorization: str | None, cookie: str | None
) -> accounts.Authenticated | None:
    """:func:`resolve` in a transaction of its own, with API tokens cached for a few seconds."""

    async def load() -> accounts.Authenticated | None:
        async with container.db.transaction() as session:
            return await resolve(
                session, container.clock, authorization=authorization, cookie=cookie
            )

    token = _bearer_token(authorization)
    if token is None:
        return await load()
    return await container.token_cache.get_or_load(token, load)


def _bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def current_principal(request: Request, container: ContainerDep) -> Principal:
    return await principal_of(request, container)


async def principal_of(request: Request, container: Container) -> Principal:
    """The caller of ``request`` (401/403 otherwise); what :data:`PrincipalDep` gives."""
    found = await authenticate(
        container,
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
