from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    audience: str
    conversation_id: int | None
    contact_id: int | None
    assignee_id: int | None
    team_id: int | None
    actor_user_id: int | None
    data: dict[str, Any]
    created_at: datetime
