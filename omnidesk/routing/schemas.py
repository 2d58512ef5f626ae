"""API shapes of the routing context. Calendars are checked here with ``routing.hours``;
what needs the database (ids of the account, channel names) is checked by the service."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from omnidesk.conversations.vocabulary import Priority
from omnidesk.kit.types import RowId, Text
from omnidesk.routing import hours

Presence = Literal["available", "away", "busy", "wrap_up", "offline"]
SelectionPolicy = Literal["longest_idle", "least_occupied", "highest_skill"]
OutOfHoursAction = Literal["keep_waiting", "auto_reply", "voicemail", "close"]

HHMM = Annotated[
    str,
    StringConstraints(pattern=r"^([01]\d|2[0-4]):[0-5]\d$"),
    Field(description="Local wall-clock time `HH:MM`; `24:00` ends a day.", examples=["09:00"]),
]
#: Holidays are limited to dates a calendar can sensibly name.
CalendarDate = Annotated[date, Field(ge=date(1970, 1, 1), le=date(2199, 12, 31))]
ChannelName = Annotated[
    Text,
    StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$"),
    Field(examples=["voice", "chat", "email"]),
]
LanguageTag = Annotated[
    Text,
    StringConstraints(max_length=35, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"),
    Field(examples=["en", "fr-CA"]),
]
TagName = Annotated[Text, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\s,]+$")]
SkillLevel = Annotated[int, Field(ge=1, le=10)]
Seconds = Annotated[int, Field(ge=0, le=30 * 24 * 3600)]
AttributeKey = Annotated[Text, StringConstraints(min_length=1, max_length=64)]
AttributeValue = (
    Annotated[Text, StringConstraints(max_length=500)]
    | bool
    | Annotated[int, Field(ge=-(2**53), le=2**53)]
    | Annotated[float, Field(allow_inf_nan=False)]
)


def _hours_error(exc: hours.HoursError) -> ValueError:
    return ValueError(exc.message)


class ConfigWarning(BaseModel):
    """Something that works but deserves attention (shown, never silently ignored)."""

    code: str = Field(examples=["no_eligible_agents"])
    message: str


# Business hours -------------------------------------------------------------------------


class OpeningInterval(BaseModel):
    """Open from ``start`` to ``end`` local time, the same day (``end`` after ``start``)."""

    model_config = ConfigDict(extra="forbid")

    start: HHMM
    end: HHMM

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        if value.startswith("24"):
            raise ValueError("an interval cannot start at 24:00")
        return value

    @field_validator("end")
    @classmethod
    def _end(cls, value: str, info: ValidationInfo) -> str:
        start = info.data.get("start")
        if start is not None:
            try:
                hours.Interval.parse(start, value)
            except hours.HoursError as exc:
                raise _hours_error(exc) from None
        return value


DayIntervals = Annotated[list[OpeningInterval], Field(max_length=24)]


def _check_day(intervals: list[OpeningInterval]) -> list[OpeningInterval]:
    parsed = [hours.Interval.parse(i.start, i.end) for i in intervals]
    try:
        hours.check_day(parsed, field="")
    except hours.HoursError as exc:
        raise _hours_error(exc) from None
    return sorted(intervals, key=lambda i: i.start)


class WeeklyHours(BaseModel):
    """Opening intervals per weekday; a day without intervals is closed."""

    model_config = ConfigDict(extra="forbid")

    monday: DayIntervals = []
    tuesday: DayIntervals = []
    wednesday: DayIntervals = []
    thursday: DayIntervals = []
    friday: DayIntervals = []
    saturday: DayIntervals = []
    sunday: DayIntervals = []

    _days = field_validator(*hours.WEEKDAYS)(_check_day)


class HolidayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(default="", max_length=200)
    start: CalendarDate
    end: CalendarDate | None = Field(default=None, description="Inclusive; default: `start`.")
    open: list[OpeningInterval] = Field(
        default=[],
        max_length=24,
        description="Open only on these intervals those days (a partial day); "
        "none: closed all day.",
    )

    @field_validator("end")
    @classmethod
    def _end(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if value is not None and start is not None and value < start:
            raise ValueError("a holiday cannot end before it starts")
        return value

    _open = field_validator("open")(_check_day)


class HolidayOut(BaseModel):
    name: str
    start: date
    end: date
    open: list[OpeningInterval]


def _check_holidays(value: list[HolidayIn] | None) -> list[HolidayIn] | None:
    if value is None:
        return None
    parsed = [hours.Holiday(start=h.start, end=h.end or h.start) for h in value]
    try:
        hours.check_holidays(parsed)
    except hours.HoursError as exc:
        raise _hours_error(exc) from None
    return sorted(value, key=lambda h: h.start)


def _check_timezone(value: str | None) -> str | None:
    if value is not None:
        try:
            hours.check_timezone(value)
        except hours.HoursError as exc:
            raise _hours_error(exc) from None
    return value


TimezoneName = Annotated[
    Text, StringConstraints(min_length=1, max_length=64), Field(examples=["Europe/London"])
]


class BusinessHoursCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=200)
    timezone: TimezoneName
    weekly: WeeklyHours = Field(default_factory=lambda: WeeklyHours())
    holidays: list[HolidayIn] = Field(default=[], max_length=500)

    _tz = field_validator("timezone")(_check_timezone)
    _holidays = field_validator("holidays")(_check_holidays)


class BusinessHoursUpdate(BaseModel):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    timezone: TimezoneName | None = None
    weekly: WeeklyHours | None = Field(default=None, description="Replaces the weekly hours.")
    holidays: list[HolidayIn] | None = Field(
        default=None, max_length=500, description="Replaces the holidays."
    )

    _tz = field_validator("timezone")(_check_timezone)
    _holidays = field_validator("holidays")(_check_holidays)


class BusinessHoursOut(BaseModel):
    id: int
    name: str
    timezone: str
    weekly: WeeklyHours
    holidays: list[HolidayOut]
    created_at: datetime
    updated_at: datetime


class BusinessHoursStatus(BaseModel):
    at: datetime
    open: bool
    next_open: datetime | None = Field(
        description="When it is next open (`at` itself when open); null: never again."
    )
    next_close: datetime | None = Field(
        description="When it is next closed (`at` itself when closed); null: never again."
    )


# Skills ---------------------------------------------------------------------------------


class SkillCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=100)
    description: Text = Field(default="", max_length=500)


class SkillUpdate(BaseModel):
    name: Text | None = Field(default=None, min_length=1, max_length=100)
    description: Text | None = Field(default=None, max_length=500)


class SkillOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    created_at: datetime


class SkillRequirementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skill_id: RowId
    min_level: SkillLevel = 1


class SkillRequirementOut(BaseModel):
    skill_id: int
    min_level: int


def _unique_skills(value: list[SkillRequirementIn] | None) -> list[SkillRequirementIn] | None:
    if value is not None and len({r.skill_id for r in value}) != len(value):
        raise ValueError("each skill may be named once")
    return value


# Routing profiles -----------------------------------------------------------------------

Capacity = Annotated[
    dict[ChannelName, Annotated[int, Field(ge=0, le=1000)]],
    Field(max_length=50, examples=[{"voice": 1, "webchat": 3, "email": 5}]),
]
#: The generic API channel carries messages like chat does.
#: Keys are work channels: the inbox's channel type (an installed channel with no capacity
#: here would never be offered to anyone with the default profile).
# Messaging channels (SMS, WhatsApp, Messenger, Instagram, Telegram) are chats a customer
# answers at their own pace: as many at once as web chats. A channel a profile does not name
# is never offered to its agents.
DEFAULT_CAPACITY = {"voice": 1, "webchat": 3, "email": 5, "api": 3} | dict.fromkeys(
    ("sms", "whatsapp", "messenger", "instagram", "telegram"), 3
)


class ProfileCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=100)
    capacity: Capacity = Field(
        default_factory=lambda: dict(DEFAULT_CAPACITY),
        description="How many items of each channel an agent holds at once; a channel not "
        "named gets none.",
    )
    exclusive_channels: list[ChannelName] = Field(
        default=[],
        max_length=50,
        description="Holding one item of such a channel blocks every other channel.",
    )
    auto_accept: bool = Field(default=False, description="Offers are accepted at once.")
    is_default: bool = Field(default=False, description="Make this the account's default profile.")


class ProfileUpdate(BaseModel):
    name: Text | None = Field(default=None, min_length=1, max_length=100)
    capacity: Capacity | None = None
    exclusive_channels: list[ChannelName] | None = Field(default=None, max_length=50)
    auto_accept: bool | None = None
    is_default: bool | None = Field(
        default=None,
        description="True makes this the default profile; to change the default, set "
        "another profile's flag.",
    )


class ProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    capacity: dict[str, int]
    exclusive_channels: list[str]
    auto_accept: bool
    is_default: bool
    created_at: datetime
    updated_at: datetime


# Queues ---------------------------------------------------------------------------------


class OverflowStep(BaseModel):
    """After ``after_s`` seconds of waiting, widen who may take the work."""

    model_config = ConfigDict(extra="forbid")

    after_s: Seconds
    relax_levels: int = Field(
        default=0, ge=0, le=9, description="Lower every required minimum level by this much."
    )
    drop_skills: bool = Field(
        default=False, description="No skill is required any more (after relaxing levels)."
    )
    add_queue_ids: list[RowId] = Field(
        default=[], max_length=20, description="Other queues whose agents may take it too."
    )
    raise_priority_by: int = Field(default=0, ge=0, le=1000)


def _check_steps(value: list[OverflowStep] | None) -> list[OverflowStep] | None:
    if value is not None:
        for before, after in itertools.pairwise(value):
            if after.after_s <= before.after_s:
                raise ValueError("after_s must increase strictly from one step to the next")
    return value


OUT_OF_HOURS_HELP = (
    "For `auto_reply` and `close`: the message sent; `{next_open}` (when the queue opens "
    "again, local time) and `{queue}` are filled in."
)


class QueueCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=200)
    priority_bonus: int = Field(default=0, ge=-1000, le=1000)
    business_hours_id: RowId | None = Field(default=None, description="None: always open.")
    out_of_hours_action: OutOfHoursAction = Field(
        default="keep_waiting",
        description="`voicemail` applies to voice work; other channels keep waiting.",
    )
    out_of_hours_message: Text = Field(default="", max_length=2000, description=OUT_OF_HOURS_HELP)
    required_skills: list[SkillRequirementIn] = Field(default=[], max_length=50)
    selection_policy: SelectionPolicy = "longest_idle"
    offer_timeout_s: int = Field(default=30, ge=5, le=3600)
    wrap_up_s: int = Field(default=0, ge=0, le=3600)
    max_missed_offers: int = Field(
        default=0, ge=0, le=100, description="Missed offers before the agent is set away; 0: never."
    )
    sticky_days: int = Field(
        default=0, ge=0, le=365, description="Prefer the contact's last agent within N days."
    )
    sticky_window_s: int = Field(
        default=0, ge=0, le=3600, description="How long to wait for that agent."
    )
    overflow_steps: list[OverflowStep] = Field(default=[], max_length=20)
    is_default: bool = Field(default=False, description="Make this the account's default queue.")

    _skills = field_validator("required_skills")(_unique_skills)
    _steps = field_validator("overflow_steps")(_check_steps)


class QueueUpdate(BaseModel):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    priority_bonus: int | None = Field(default=None, ge=-1000, le=1000)
    business_hours_id: RowId | None = Field(
        default=None, description="null: always open (omit to keep the current calendar)."
    )
    out_of_hours_action: OutOfHoursAction | None = None
    out_of_hours_message: Text | None = Field(
        default=None, max_length=2000, description=OUT_OF_HOURS_HELP
    )
    required_skills: list[SkillRequirementIn] | None = Field(default=None, max_length=50)
    selection_policy: SelectionPolicy | None = None
    offer_timeout_s: int | None = Field(default=None, ge=5, le=3600)
    wrap_up_s: int | None = Field(default=None, ge=0, le=3600)
    max_missed_offers: int | None = Field(default=None, ge=0, le=100)
    sticky_days: int | None = Field(default=None, ge=0, le=365)
    sticky_window_s: int | None = Field(default=None, ge=0, le=3600)
    overflow_steps: list[OverflowStep] | None = Field(default=None, max_length=20)
    is_default: bool | None = Field(
        default=None,
        description="True makes this the default queue; to change the default, set another "
        "queue's flag.",
    )

    _skills = field_validator("required_skills")(_unique_skills)
    _steps = field_validator("overflow_steps")(_check_steps)


class OverflowStepOut(BaseModel):
    after_s: int
    relax_levels: int
    drop_skills: bool
    add_queue_ids: list[int]
    raise_priority_by: int


class QueueOut(BaseModel):
    id: int
    name: str
    priority_bonus: int
    business_hours_id: int | None
    out_of_hours_action: str
    out_of_hours_message: str
    required_skills: list[SkillRequirementOut]
    selection_policy: str
    offer_timeout_s: int
    wrap_up_s: int
    max_missed_offers: int
    sticky_days: int
    sticky_window_s: int
    overflow_steps: list[OverflowStepOut]
    is_default: bool
    created_at: datetime
    updated_at: datetime
    warnings: list[ConfigWarning] = Field(
        default=[], description="E.g. `no_eligible_agents`: no agent has the required skills."
    )


# Presence and agents --------------------------------------------------------------------


class AwayReasonCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=100)


class AwayReasonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime


class PresenceSet(BaseModel):
    presence: Presence
    reason: Text | None = Field(default=None, max_length=200, description="Free text.")
    reason_id: RowId | None = Field(default=None, description="One of the account's reasons.")


class AgentSkillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skill_id: RowId
    level: SkillLevel


class AgentSkillsSet(BaseModel):
    skills: list[AgentSkillIn] = Field(max_length=200, description="Replaces the agent's skills.")

    @field_validator("skills")
    @classmethod
    def _unique(cls, value: list[AgentSkillIn]) -> list[AgentSkillIn]:
        if len({s.skill_id for s in value}) != len(value):
            raise ValueError("each skill may be named once")
        return value


class AgentProfileSet(BaseModel):
    profile_id: RowId | None = Field(description="null: the account's default profile.")


class AgentSkillOut(BaseModel):
    skill_id: int
    name: str
    level: int


class AgentWorkOut(BaseModel):
    conversation_id: int
    channel: str
    assigned_at: datetime | None


class AgentOut(BaseModel):
    user_id: int
    name: str
    role: str
    active: bool
    presence: Presence
    reason: str | None
    since: datetime | None = Field(description="When the presence last changed.")
    time_in_state_s: int | None
    profile_id: int | None = Field(description="The assigned profile; null: the default.")
    effective_profile_id: int | None = Field(description="The profile the agent works with.")
    skills: list[AgentSkillOut]
    work: list[AgentWorkOut] = Field(
        default=[],
        description="The routed conversations the agent holds now, first taken first: their "
        "load, which uses their capacity. Shown to supervisors, admins and the agent themself "
        "(empty for other agents).",
    )


# Rules ----------------------------------------------------------------------------------


class RuleConditions(BaseModel):
    """All given conditions must match; an empty list is not checked."""

    model_config = ConfigDict(extra="forbid")

    inbox_ids: list[RowId] = Field(default=[], max_length=100)
    channels: list[ChannelName] = Field(default=[], max_length=50)
    languages: list[LanguageTag] = Field(
        default=[], max_length=50, description="`fr` matches `fr` and `fr-CA`."
    )
    tags_any: list[TagName] = Field(default=[], max_length=50, description="Any one of these.")
    contact_attributes: dict[AttributeKey, AttributeValue] = Field(
        default={}, max_length=20, description="Each contact attribute equals its value."
    )
    vip: bool | None = Field(
        default=None,
        description="true: only contacts whose `vip` attribute is set; false: only others.",
    )

    @field_validator("tags_any")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return sorted({t.strip().lower() for t in value})


class RuleCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=200)
    enabled: bool = True
    conditions: RuleConditions = Field(default_factory=lambda: RuleConditions())
    queue_id: RowId | None = Field(default=None, description="null: the default queue.")
    priority: Priority | None = Field(default=None, description="null: keep the priority.")
    extra_skills: list[SkillRequirementIn] = Field(default=[], max_length=20)
    position: int | None = Field(
        default=None, ge=1, le=100_000, description="1 is tried first; default: last."
    )

    _skills = field_validator("extra_skills")(_unique_skills)


class RuleUpdate(BaseModel):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    enabled: bool | None = None
    conditions: RuleConditions | None = None
    queue_id: RowId | None = None
    priority: Priority | None = None
    extra_skills: list[SkillRequirementIn] | None = Field(default=None, max_length=20)

    _skills = field_validator("extra_skills")(_unique_skills)


class RuleOut(BaseModel):
    id: int
    position: int
    name: str
    enabled: bool
    conditions: RuleConditions
    queue_id: int | None
    priority: str | None
    extra_skills: list[SkillRequirementOut]
    created_at: datetime
    updated_at: datetime


class RulesReorder(BaseModel):
    rule_ids: list[RowId] = Field(
        max_length=1000, description="Every rule of the account, in the new order."
    )


class RoutingFacts(BaseModel):
    """What is known about a piece of work, for a dry run of the rules."""

    inbox_id: RowId | None = None
    channel: ChannelName | None = None
    language: LanguageTag | None = None
    tags: list[TagName] = Field(default=[], max_length=50)
    contact_attributes: dict[AttributeKey, AttributeValue] = Field(default={}, max_length=100)
    priority: Priority = "normal"


class RoutingTargetOut(BaseModel):
    queue_id: int
    queue_name: str
    priority: str
    extra_skills: list[SkillRequirementOut]
    rule_id: int | None = Field(description="The rule that matched; null: the default queue.")
    rule_name: str | None


class ChannelsOut(BaseModel):
    channels: list[str] = Field(description="Channel names capacities and rules may use.")


def dump(value: BaseModel) -> Any:
    return value.model_dump(mode="json")


# The router's work -------------------------------------------------------------------------


class OfferOut(BaseModel):
    """A timed reservation of a conversation for one agent."""

    id: int
    work_item_id: int
    conversation_id: int
    agent_id: int
    channel: str
    queue_id: int
    status: Literal["pending", "accepted", "declined", "timed_out", "withdrawn"]
    reason: str | None
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None


class OfferDecline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text | None = Field(default=None, max_length=200, description="Why, for the reports.")


class QueueStats(BaseModel):
    queue_id: int
    name: str
    waiting: int = Field(default=0, description="Waiting for an agent or offered to one now.")
    oldest_wait_s: float | None = Field(default=None, description="Age of the oldest waiting.")
    answered: int = Field(default=0, description="Taken by an agent since `since`.")
    answered_within_threshold: int = 0
    abandoned: int = Field(default=0, description="The customer left before an agent took it.")
    abandoned_after_threshold: int = 0
    service_level: float | None = Field(
        default=None,
        description="Answered within the threshold ÷ (answered + abandoned after the threshold).",
    )
    service_level_abandon_inclusive: float | None = Field(
        default=None, description="Answered within the threshold ÷ (answered + every abandoned)."
    )
    abandon_rate: float | None = None
    asa_s: float | None = Field(default=None, description="Average speed of answer (seconds).")


class AgentCount(BaseModel):
    presence: Presence
    agents: int = 0
    longest_in_state_s: float = 0.0


class RoutingStats(BaseModel):
    at: datetime
    since: datetime
    threshold_s: float
    queues: list[QueueStats]
    agents: list[AgentCount]


class TransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: RowId
    to_queue_id: RowId | None = Field(default=None, description="Route it again from this queue.")
    to_agent_id: RowId | None = Field(
        default=None, description="Offer it to this agent only, whatever their skills."
    )
    note: Text | None = Field(
        default=None, max_length=2000, description="Context for whoever takes it over."
    )


class TransferOut(BaseModel):
    work_item_id: int
    conversation_id: int
    to_queue_id: int | None
    to_agent_id: int | None
    note: str | None
