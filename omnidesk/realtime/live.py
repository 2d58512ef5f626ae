"""Live-only messages about one conversation, for the sockets allowed to see it.

Typing indicators, reads and who is viewing: sent through the broker as ephemeral messages
(``broker.ephemeral``) with the conversation's audience, so that the fan-out hands them to
exactly the agents who may see the conversation (``events/visibility.py``) and to
supervisors. Never stored, never replayed; best effort (a broker error is logged).
"""

from __future__ import annotations

from typing import Any

import structlog

from omnidesk.conversations.models import Conversation
from omnidesk.realtime.broker import Broker

log = structlog.get_logger(__name__)


async def publish_to_conversation(
    broker: Broker | None, conversation: Conversation, message: dict[str, Any]
) -> None:
    if broker is None:
        return
    ephemeral = {
        "audience": "conversation",
        "assignee_id": conversation.assignee_id,
        "team_id": conversation.team_id,
        "message": message,
    }
    try:
        await broker.publish(conversation.account_id, ephemeral)
    except Exception:
        log.warning("live_publish_failed", type=message.get("type"), exc_info=True)
