"""FastAPI dependencies: the unit of work, the clock, settings and the current principal.

All are ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread, a thread
hop on every request for what is an attribute read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.kit.clock import Clock
from omnidesk.settings import Settings

if TYPE_CHECKING:
    from omnidesk.bootstrap import Container


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    container = await get_container(request)
    async with container.db.transaction() as session:
        yield session


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.container.clock
    return clock


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.container.settings
    return settings


# scope="function": the transaction commits when the endpoint returns, before the response
# is sent, so a client never gets a success for data that then failed to commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ContainerDep = Annotated["Container", Depends(get_container)]
