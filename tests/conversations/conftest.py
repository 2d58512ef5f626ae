from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from omnidesk.contacts.models import Contact, Identity
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.clock import SystemClock
from omnidesk.kit.db import Database
from tests.conftest import Tenant

MakeContact = Callable[..., Awaitable[int]]


@pytest.fixture
def make_contact(db: Database) -> MakeContact:
    async def make(tenant: Tenant, name: str = "Carla Customer", email: str | None = None) -> int:
        now = SystemClock().now()
        async with db.transaction() as session:
            contact = Contact(
                account_id=tenant.account_id,
                name=name,
                attributes={},
                created_at=now,
                updated_at=now,
            )
            session.add(contact)
            await session.flush()
            if email:
                session.add(
                    Identity(
                        account_id=tenant.account_id,
                        contact_id=contact.id,
                        kind="email",
                        value=email,
                        created_at=now,
                    )
                )
            return contact.id

    return make


@pytest.fixture
def make_inbox(db: Database) -> Callable[[Tenant], Awaitable[Inbox]]:
    async def make(tenant: Tenant) -> Inbox:
        now = SystemClock().now()
        async with db.transaction() as session:
            inbox = Inbox(
                account_id=tenant.account_id,
                name="API",
                channel_type="api",
                config={},
                secrets_encrypted="",
                created_at=now,
                updated_at=now,
            )
            session.add(inbox)
            await session.flush()
            return inbox

    return make
