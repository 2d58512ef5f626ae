from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

JobStatus = Literal["pending", "running", "done", "dead", "cancelled"]


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    status: JobStatus
    attempts: int
    payload: dict[str, Any]
    idempotency_key: str
    due_at: datetime
    locked_until: datetime | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
