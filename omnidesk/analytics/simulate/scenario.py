"""A simulated day as a YAML file: queues, traffic, agents. Validated, nothing unknown allowed.

Times that shape the day are in hours from the scenario's start (``hours``, shifts); times of
one contact are in seconds (handle time, patience, wrap-up). Reference: ``docs/workforce.md``
("Simulator"). Bad input raises :class:`~omnidesk.kit.errors.ValidationFailed` whose field is
the path of the offending key (``traffic[0].arrivals.counts[3]``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from omnidesk.kit.errors import ValidationFailed

Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Level = Annotated[int, Field(ge=1, le=10)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
#: More contacts than this in one run is a mistake (hours for days?), not a plan: refused.
MAX_CONTACTS = 5_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Distribution(_Strict):
    """A random duration: ``exponential`` and ``fixed`` need ``mean_s``; ``lognormal`` also
    ``sd_s``."""

    kind: Literal["exponential", "lognormal", "fixed"] = "exponential"
    mean_s: Seconds
    sd_s: Positive | None = None

    @model_validator(mode="after")
    def _shape(self) -> Distribution:
        if self.kind == "lognormal" and self.sd_s is None:
            raise ValueError("a lognormal distribution needs sd_s")
        if self.kind != "lognormal" and self.sd_s is not None:
            raise ValueError(f"sd_s is for lognormal distributions, not {self.kind}")
        if self.kind != "fixed" and self.mean_s <= 0:
            raise ValueError(f"an {self.kind} distribution needs mean_s > 0")
        return self


class Arrivals(_Strict):
    """Poisson arrivals: ``per_hour`` all day, or ``counts`` expected in each interval of
    ``interval_min`` minutes from the start (none after the last)."""

    per_hour: Seconds | None = None
    interval_min: Positive = 30.0
    counts: list[Seconds] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Arrivals:
        if (self.per_hour is None) == (self.counts is None):
            raise ValueError("give either per_hour or counts")
        return self


class Traffic(_Strict):
    """A stream of contacts on one channel into one queue."""

    queue: Name
    channel: Name
    arrivals: Arrivals
    handle_time: Distribution
    #: How long a customer waits before giving up; none: they wait as long as it takes.
    patience: Distribution | None = None


class QueueSpec(_Strict):
    skills: dict[Name, Level] = Field(default_factory=dict)
    policy: Literal["longest_idle", "least_occupied", "highest_skill"] = "longest_idle"
    priority_bonus: int = 0
    offer_timeout_s: Positive = 30.0
    wrap_up_s: Seconds = 0.0
    max_missed_offers: Annotated[int, Field(ge=0)] = 0


class Shift(_Strict):
    start_h: Seconds
    end_h: Seconds

    @model_validator(mode="after")
    def _order(self) -> Shift:
        if self.end_h <= self.start_h:
            raise ValueError("a shift must end after it starts")
        return self


class AgentGroup(_Strict):
    """``count`` agents alike: skills with levels, capacity per channel, shifts."""

    name: Name
    count: Annotated[int, Field(ge=0, le=100_000)]
    skills: dict[Name, Level] = Field(default_factory=dict)
    capacity: dict[Name, Annotated[int, Field(ge=0, le=1000)]]
    exclusive_channels: list[Name] = Field(default_factory=list)
    #: Taken at once, without an offer to answer.
    auto_accept: bool = False
    #: How long an agent takes to accept an offer (ignored with auto_accept).
    accept_delay: Distribution = Distribution(kind="fixed", mean_s=0.0)
    #: Available during these; none: all day.
    shifts: list[Shift] | None = None


class ServiceLevel(_Strict):
    threshold_s: Seconds = 20.0
    target: Annotated[float, Field(ge=0, le=1)] = 0.8


class Scenario(_Strict):
    name: Name = "scenario"
    seed: int = 0
    start: datetime = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    #: Length of the day in hours: no arrival after it; work under way is finished.
    hours: Positive
    #: Contacts arriving before this are simulated but left out of the figures (a long run
    #: starts empty; steady-state comparisons skip that).
    warm_up_h: Seconds = 0.0
    service_level: ServiceLevel = ServiceLevel()
    queues: dict[Name, QueueSpec]
    agents: list[AgentGroup]
    traffic: list[Traffic] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        for n, stream in enumerate(self.traffic):
            if stream.queue not in self.queues:
                raise _Misplaced(f"traffic[{n}].queue", f"no queue named {stream.queue!r}")
        for n, group in enumerate(self.agents):
            for channel in group.exclusive_channels:
                if channel not in group.capacity:
                    raise _Misplaced(
                        f"agents[{n}].exclusive_channels",
                        f"{channel!r} is exclusive but has no capacity",
                    )
        if self.warm_up_h >= self.hours:
            raise _Misplaced("warm_up_h", "the warm-up must be shorter than the day")
        if self.expected_contacts() > MAX_CONTACTS:
            raise _Misplaced(
                "traffic",
                f"about {self.expected_contacts():,.0f} contacts expected;"
                f" at most {MAX_CONTACTS:,} in one run",
            )
        return self

    def expected_contacts(self) -> float:
        total = 0.0
        for stream in self.traffic:
            arrivals = stream.arrivals
            if arrivals.counts is None:
                total += (arrivals.per_hour or 0.0) * self.hours
            else:
                intervals = math.ceil(self.hours * 60 / arrivals.interval_min)
                total += sum(arrivals.counts[:intervals])
        return total

    @property
    def end_s(self) -> float:
        return self.hours * 3600.0


class _Misplaced(ValueError):
    """A cross-reference error that knows its own path (pydantic's would be the model's)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse(data: Any, *, source: str = "scenario") -> Scenario:
    """A scenario from parsed YAML; the error names the first bad field's path."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, _Misplaced):
                problems.append((cause.path, cause.message))
                continue
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            problems.append((_path(tuple(error["loc"])) or "(top)", message))
        text = "; ".join(f"{path}: {message}" for path, message in problems)
        raise ValidationFailed(f"{source}: {text}", field=problems[0][0]) from exc


def load(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ValidationFailed(f"cannot read {path}: {exc.strerror}", field="file") from exc
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValidationFailed(f"{path}: not valid YAML: {exc}", field="file") from exc
    if not isinstance(data, dict):
        raise ValidationFailed(f"{path}: a scenario is a mapping of keys", field="file")
    return parse(data, source=str(path))
