from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from omnidesk.conversations.vocabulary import Priority
from omnidesk.kit.types import RowId, Text
from omnidesk.sla.models import Kind, State

SlaState = State

#: A year of business time: longer targets are surely a mistake (and would take long to plan).
MAX_TARGET_S = 366 * 24 * 3600
TargetSeconds = Annotated[int, Field(ge=60, le=MAX_TARGET_S)]
AttributeName = Annotated[Text, StringConstraints(min_length=1, max_length=64)]
AttributeValue = str | int | float | bool


class Targets(BaseModel):
    """Business seconds allowed for each measure; null: not measured for this priority."""

    model_config = ConfigDict(extra="forbid")

    first_response_s: TargetSeconds | None = Field(default=None, examples=[3600])
    next_response_s: TargetSeconds | None = Field(default=None, examples=[14400])
    resolution_s: TargetSeconds | None = Field(default=None, examples=[86400])


class Conditions(BaseModel):
    """Which conversations the policy covers; every condition given must hold (an empty list
    or object is no condition)."""

    model_config = ConfigDict(extra="forbid")

    priorities: list[Priority] = Field(default=[], max_length=4)
    inbox_ids: list[RowId] = Field(default=[], max_length=100)
    channel_types: list[Annotated[Text, StringConstraints(min_length=1, max_length=32)]] = Field(
        default=[], max_length=20, examples=[["email"]]
    )
    contact_attributes: dict[AttributeName, AttributeValue] = Field(
        default={},
        max_length=10,
        description="The contact's custom attributes must equal these values.",
        examples=[{"plan": "enterprise"}],
    )


class SlaPolicyCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=200, examples=["Enterprise"])
    business_hours_id: RowId | None = Field(
        default=None,
        description="The business-hours calendar targets count in; null: around the clock.",
    )
    conditions: Conditions = Field(default_factory=Conditions)
    targets: dict[Priority, Targets] = Field(
        description="Targets per priority; a priority left out has none.",
        examples=[{"urgent": {"first_response_s": 900, "resolution_s": 14400}}],
    )
    warning_percent: int | None = Field(
        default=None,
        ge=1,
        le=99,
        description="Warn once this share of a target's business time has passed.",
    )
    warning_before_s: int | None = Field(
        default=None,
        ge=1,
        le=MAX_TARGET_S,
        description="Or warn this many business seconds before a target is due.",
    )
    active: bool = True
    position: int = Field(
        default=0, ge=0, le=10_000, description="Lower first: the first matching policy applies."
    )


class SlaPolicyUpdate(BaseModel):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    business_hours_id: RowId | None = Field(default=None, description="null: around the clock.")
    conditions: Conditions | None = None
    targets: dict[Priority, Targets] | None = None
    warning_percent: int | None = Field(default=None, ge=1, le=99)
    warning_before_s: int | None = Field(default=None, ge=1, le=MAX_TARGET_S)
    active: bool | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)


class SlaPolicyOut(BaseModel):
    id: int
    name: str
    business_hours_id: int | None
    conditions: Conditions
    targets: dict[Priority, Targets]
    warning_percent: int | None
    warning_before_s: int | None
    active: bool
    position: int
    created_at: datetime
    updated_at: datetime


class SlaTargetOut(BaseModel):
    """One SLA clock of a conversation."""

    kind: Kind
    state: State
    target_s: int
    started_at: datetime
    due_at: datetime | None = Field(
        description="When the target is due while the clock runs; null while it is stopped."
    )
    remaining_s: int = Field(
        description="Business seconds left (negative: overdue); frozen while stopped."
    )
    warned_at: datetime | None
    breached_at: datetime | None
    achieved_at: datetime | None


class ConversationSla(BaseModel):
    """The conversation's SLA: its policy and the latest clock of each kind."""

    policy_id: int | None
    targets: list[SlaTargetOut]


class KindReport(BaseModel):
    kind: Kind
    achieved: int = Field(description="Met on time.")
    breached: int = Field(description="Missed (met late or not at all).")
    running: int = Field(description="Neither yet.")
    achieved_percent: float | None = Field(
        description="achieved / (achieved + breached) * 100; null when none has finished."
    )


class SlaReport(BaseModel):
    policy_id: int
    since: datetime
    until: datetime
    kinds: list[KindReport]


def policy_out_fields(conditions: dict[str, Any], targets: dict[str, Any]) -> dict[str, Any]:
    return {
        "conditions": Conditions.model_validate(conditions),
        "targets": {p: Targets.model_validate(t) for p, t in targets.items()},
    }
