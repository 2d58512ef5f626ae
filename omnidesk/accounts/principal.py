"""Who is acting: every service call is made on behalf of a Principal within one account."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from omnidesk.kit.errors import Forbidden

Via = Literal["session", "token", "system"]


@dataclass(frozen=True)
class Principal:
    account_id: int
    user_id: int | None
    role: str
    team_ids: frozenset[int] = field(default_factory=frozenset)
    via: Via = "system"
    session_id: int | None = None

    @property
    def is_supervisor(self) -> bool:
        return self.role in ("admin", "supervisor")

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}")

    @classmethod
    def system(cls, account_id: int) -> Principal:
        return cls(account_id=account_id, user_id=None, role="admin", via="system")
