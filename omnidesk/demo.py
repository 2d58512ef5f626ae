"""The demo account seeded on first start, so that `make run` shows a working desk."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from omnidesk.accounts import service as accounts
from omnidesk.accounts.models import Account
from omnidesk.accounts.principal import Principal
from omnidesk.accounts.schemas import TeamCreate, UserCreate
from omnidesk.kit.clock import Clock
from omnidesk.kit.db import Database

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_AGENT_EMAIL = "agent@example.com"


async def seed_if_empty(db: Database, clock: Clock) -> dict[str, str] | None:
    """Create the demo account unless any account exists; return its logins once."""
    async with db.transaction() as session:
        if await session.scalar(select(Account.id).limit(1)) is not None:
            return None
        admin_password = secrets.token_urlsafe(12)
        agent_password = secrets.token_urlsafe(12)
        account, admin = await accounts.create_account(
            session,
            clock,
            name="Demo Company",
            admin_email=DEMO_ADMIN_EMAIL,
            admin_name="Ada Admin",
            admin_password=admin_password,
        )
        actor = Principal(account_id=account.id, user_id=admin.id, role="admin")
        agent = await accounts.create_user(
            session,
            clock,
            actor,
            UserCreate(
                email=DEMO_AGENT_EMAIL, name="Alex Agent", role="agent", password=agent_password
            ),
        )
        await accounts.create_team(
            session, clock, actor, TeamCreate(name="Support", member_ids=[admin.id, agent.id])
        )
    return {
        "admin_email": DEMO_ADMIN_EMAIL,
        "admin_password": admin_password,
        "agent_email": DEMO_AGENT_EMAIL,
        "agent_password": agent_password,
    }
