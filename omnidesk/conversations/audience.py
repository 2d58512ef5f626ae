"""Who sees a conversation's events: the fields :func:`omnidesk.events.service.record` takes."""

from __future__ import annotations

from typing import Any

from omnidesk.conversations.models import Conversation


def of(conversation: Conversation) -> dict[str, Any]:
    return {
        "account_id": conversation.account_id,
        "audience": "conversation",
        "conversation_id": conversation.id,
        "contact_id": conversation.contact_id,
        "assignee_id": conversation.assignee_id,
        "team_id": conversation.team_id,
    }
