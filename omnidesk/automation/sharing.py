"""Items shared like canned responses and macros: with the whole account, with one team, or
kept personal. One set of rules for who may create and change them."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts import repository as accounts_repo
from omnidesk.accounts.principal import Principal
from omnidesk.kit.errors import Forbidden, NotFound, ValidationFailed


class Shared(Protocol):
    scope: str
    owner_id: int | None


async def check_new(
    session: AsyncSession, principal: Principal, scope: str, team_id: int | None, noun: str
) -> None:
    """Refuse a new item the principal may not share this way, naming the field: shared
    ones are the admins', a team's needs a team of the account, a personal one a user."""
    if scope != "personal":
        principal.require("admin")
    if scope == "team":
        if team_id is None:
            raise ValidationFailed(f"a team's {noun} needs team_id", field="team_id")
        if await accounts_repo.get_team(session, principal.account_id, team_id) is None:
            raise NotFound("team", field="team_id")
    elif team_id is not None:
        raise ValidationFailed("team_id is for scope `team` only", field="team_id")
    if scope == "personal" and principal.user_id is None:
        raise ValidationFailed(f"a personal {noun} belongs to a user", field="scope")


def check_may_edit(principal: Principal, item: Shared, noun: str) -> None:
    """A personal item is its owner's to change; a shared one, the admins'."""
    if item.scope == "personal":
        if item.owner_id != principal.user_id:
            raise Forbidden(f"only its owner may change a personal {noun}")
    elif principal.role != "admin":
        raise Forbidden(f"only admins may change shared {noun}s")
