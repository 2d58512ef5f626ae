from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnidesk.automation.models import Scope
from omnidesk.kit.types import RowId, Text

#: What an agent types after ``/``: letters, digits, ``_``, ``-`` and ``.``; stored lower-case.
SHORTCUT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
MAX_BODY_CHARS = 10_000


class CannedResponseCreate(BaseModel):
    scope: Scope = Field(
        default="personal",
        description="`account`: every agent of the account; `team`: the members of `team_id`; "
        "`personal`: you alone. Only admins create shared (`account`, `team`) ones.",
    )
    team_id: RowId | None = Field(default=None, description="The team (scope `team` only).")
    shortcut: Text = Field(
        min_length=1,
        max_length=64,
        pattern=SHORTCUT_PATTERN,
        description="What agents type after `/` (case-insensitive).",
        examples=["refund"],
    )
    title: Text = Field(min_length=1, max_length=200, examples=["Refund on its way"])
    body: Text = Field(
        min_length=1,
        max_length=MAX_BODY_CHARS,
        description="The text, with variables such as `{{contact.first_name}}` "
        "(docs/canned-responses.md).",
        examples=["Hi {{contact.first_name}}, your refund is on its way. {{agent.name}}"],
    )


class CannedResponseUpdate(BaseModel):
    shortcut: Text | None = Field(
        default=None, min_length=1, max_length=64, pattern=SHORTCUT_PATTERN
    )
    title: Text | None = Field(default=None, min_length=1, max_length=200)
    body: Text | None = Field(default=None, min_length=1, max_length=MAX_BODY_CHARS)


class CannedResponseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    scope: Scope
    team_id: int | None
    owner_id: int | None
    shortcut: str
    title: str
    body: str
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime


class RenderedOut(BaseModel):
    canned_response_id: int
    conversation_id: int
    text: str = Field(description="The body with every variable filled in.")
    missing: list[str] = Field(
        description="Variables that had no value for this conversation (each became empty)."
    )


class VariableOut(BaseModel):
    name: str = Field(examples=["contact.first_name"])
    description: str


# Rules -----------------------------------------------------------------------------------

_CONDITIONS_DOC = (
    "The condition language of docs/automation.md: `all`, `any`, `not` and leaves "
    '`{"field", "op", "value"}`. `{"all": []}` matches every event.'
)
_ACTIONS_DOC = (
    'Ordered actions such as `{"type": "add_tags", "tags": ["vip"]}` '
    "(GET /api/v1/automation/actions lists them)."
)


class RuleWait(BaseModel):
    """How long the conditions must hold before a time-based rule acts."""

    model_config = ConfigDict(extra="forbid")

    amount: int = Field(ge=1, le=527_040, examples=[48])
    unit: Literal["minutes", "hours", "days"] = Field(examples=["hours"])
    business_hours_id: RowId | None = Field(
        default=None,
        description="Count business time in this calendar (GET /api/v1/routing/business-hours): "
        "its open hours only, holidays skipped. Without it the wait is wall time.",
    )

    @model_validator(mode="after")
    def _sensible(self) -> Self:
        if self.unit == "days" and self.business_hours_id is not None:
            raise ValueError(
                "count business time in hours or minutes: a business day is not 24 hours"
            )
        if self.amount * {"minutes": 1, "hours": 60, "days": 1440}[self.unit] > 527_040:
            raise ValueError("a wait is at most a year")
        return self


_WAIT_DOC = (
    "Makes the rule time-based: each trigger event starts (or restarts) the conversation's "
    "wait when the conditions match and stops it when they do not; the actions run when the "
    "wait ends if the conditions still hold. Null: act at once."
)


class AutomationRuleCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=200, examples=["Tag refund requests"])
    description: Text = Field(default="", max_length=1000)
    enabled: bool = True
    triggers: list[str] = Field(
        min_length=1,
        max_length=20,
        description="Event types the rule reacts to (GET /api/v1/automation/triggers).",
        examples=[["message.received"]],
    )
    conditions: dict[str, Any] = Field(
        default_factory=lambda: {"all": []}, description=_CONDITIONS_DOC
    )
    actions: list[Any] = Field(min_length=1, description=_ACTIONS_DOC)
    once_per_conversation: bool = Field(
        default=False, description="Act at most once on each conversation."
    )
    stop_processing: bool = Field(
        default=False, description="When this rule acts on an event, later rules do not."
    )
    wait: RuleWait | None = Field(default=None, description=_WAIT_DOC)


class AutomationRuleUpdate(BaseModel):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=1000)
    enabled: bool | None = None
    triggers: list[str] | None = Field(default=None, min_length=1, max_length=20)
    conditions: dict[str, Any] | None = None
    actions: list[Any] | None = Field(default=None, min_length=1)
    once_per_conversation: bool | None = None
    stop_processing: bool | None = None
    wait: RuleWait | None = Field(default=None, description="Null makes the rule act at once.")


class AutomationRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    enabled: bool
    position: int
    triggers: list[str]
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    once_per_conversation: bool
    stop_processing: bool
    wait: RuleWait | None
    created_at: datetime
    updated_at: datetime


class RuleOrder(BaseModel):
    rule_ids: list[RowId] = Field(
        min_length=1, description="Every rule of the account, in the order they should run."
    )


class RuleRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    rule_id: int
    conversation_id: int | None
    event_id: int
    outcome: str = Field(description="`done`, `failed` (nothing applied) or `loop_stopped`.")
    detail: dict[str, Any]
    created_at: datetime


class DryRunIn(BaseModel):
    rule_id: RowId | None = Field(default=None, description="A saved rule to try…")
    rule: AutomationRuleCreate | None = Field(
        default=None, description="…or a definition, saved or not."
    )
    days: int = Field(default=7, ge=1, le=7, description="How far back to look.")
    limit: int = Field(default=50, ge=1, le=200, description="At most this many matches.")


class LeafOut(BaseModel):
    path: str
    field: str
    op: str
    value: Any
    matched: bool


class DryRunMatch(BaseModel):
    event_id: int
    event_type: str
    conversation_id: int
    at: datetime
    explain: list[LeafOut]
    actions: list[dict[str, Any]] = Field(description="What the rule would have done.")
    acts_at: datetime | None = Field(
        default=None,
        description="A time-based rule: when its wait from this event ends (it acts then if "
        "nothing changes before).",
    )


class DryRunOut(BaseModel):
    examined: int = Field(description="Trigger events looked at.")
    matches: list[DryRunMatch]
    truncated: bool = Field(description="More events or matches than the caps: look at fewer days.")


class NameDescription(BaseModel):
    name: str
    description: str


# Macros ----------------------------------------------------------------------------------


class MacroCreate(BaseModel):
    scope: Scope = Field(
        default="personal",
        description="`account`: every agent; `team`: the members of `team_id`; `personal`: "
        "you alone. Only admins create shared ones.",
    )
    team_id: RowId | None = None
    name: Text = Field(min_length=1, max_length=200, examples=["Refund: close politely"])
    actions: list[Any] = Field(min_length=1, description=_ACTIONS_DOC + " No `apply_macro`.")


class MacroUpdate(BaseModel):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    actions: list[Any] | None = Field(default=None, min_length=1)


class MacroOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    scope: Scope
    team_id: int | None
    owner_id: int | None
    name: str
    actions: list[dict[str, Any]]
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime


class MacroApplied(BaseModel):
    macro_id: int
    conversation_id: int
    done: list[dict[str, Any]] = Field(description="What each action did.")
