"""The demo account seeded on first start, so that `make run` shows a working desk."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts import service as accounts
from omnidesk.accounts.models import Account
from omnidesk.accounts.principal import Principal
from omnidesk.accounts.schemas import TeamCreate, UserCreate
from omnidesk.channels.base import Inbound, InboundSender
from omnidesk.conversations import service as conversations
from omnidesk.conversations.schemas import ConversationUpdate, MessageCreate
from omnidesk.inboxes import service as inboxes
from omnidesk.inboxes.schemas import InboxCreate
from omnidesk.kit.clock import Clock
from omnidesk.kit.db import Database
from omnidesk.kit.security import SecretBox
from omnidesk.routing import service as routing
from omnidesk.routing.schemas import AgentSkillIn, AgentSkillsSet, SkillCreate

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_AGENT_EMAIL = "agent@example.com"


DEMO_MESSAGES = (
    ("carla@example.com", "Carla Diaz", "order-1042", "Hi! My order #1042 has not arrived yet."),
    ("+14155552671", "Sam Lee", "sam-1", "Can I change the delivery address on my order?"),
    ("carla@example.com", "Carla Diaz", "order-1042", "It was due last Friday."),
)


async def seed_if_empty(db: Database, clock: Clock, secret_box: SecretBox) -> dict[str, str] | None:
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
        saved = await inboxes.create_inbox(
            session,
            clock,
            actor,
            InboxCreate(name="Shop API", channel_type="api"),
            secret_box=secret_box,
            allow_private_addresses=False,
        )
        # The website's live chat: any site may embed it (no allowed origins), so the widget
        # works on a page served from anywhere while trying omnidesk out.
        chat = await inboxes.create_inbox(
            session,
            clock,
            actor,
            InboxCreate(
                name="Website chat",
                channel_type="webchat",
                config={"title": "Demo Company", "allowed_origins": [], "csat": True},
            ),
            secret_box=secret_box,
            allow_private_addresses=False,
        )
        for n, (handle, name, thread, body) in enumerate(DEMO_MESSAGES, start=1):
            kind = "email" if "@" in handle else "phone"
            received = await conversations.receive_inbound(
                session,
                clock,
                inbox=saved.inbox,
                inbound=Inbound(
                    channel_message_id=f"demo-{n}",
                    thread_id=thread,
                    body=body,
                    sender=InboundSender(kind=kind, value=handle, name=name),
                ),
            )
        first = received.conversation
        await conversations.update_conversation(
            session,
            clock,
            actor,
            first.id,
            ConversationUpdate(assignee_id=agent.id, priority="high", tags=["delivery"]),
        )
        await conversations.post_message(
            session,
            clock,
            actor,
            first.id,
            MessageCreate(
                body="Carrier says the parcel is in the depot; chase them.", private=True
            ),
        )
        await _seed_routing(session, clock, actor, agent_id=agent.id)
    return {
        "admin_email": DEMO_ADMIN_EMAIL,
        "admin_password": admin_password,
        "agent_email": DEMO_AGENT_EMAIL,
        "agent_password": agent_password,
        "chat_widget_key": str(chat.inbox.config["widget_key"]),
    }


async def _seed_routing(
    session: AsyncSession, clock: Clock, actor: Principal, *, agent_id: int
) -> None:
    """The default queue and routing profile, and two skills the demo agent holds."""
    await routing.ensure_default_queue(session, clock, actor.account_id)
    await routing.ensure_default_profile(session, clock, actor.account_id)
    levels = {"English": 8, "Billing": 5}
    skills = [
        await routing.create_skill(session, clock, actor, SkillCreate(name=name)) for name in levels
    ]
    await routing.set_agent_skills(
        session,
        clock,
        actor,
        agent_id,
        AgentSkillsSet(skills=[AgentSkillIn(skill_id=s.id, level=levels[s.name]) for s in skills]),
    )
