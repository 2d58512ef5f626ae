"""API shapes of the reports. Figures are defined in ``analytics/metrics.py`` and
``docs/workforce.md`` ("Report metrics")."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class MetricsOut(BaseModel):
    """One set of contacts measured; a rate with nothing to measure is null."""

    offered: int = Field(description="Contacts that arrived in the period.")
    answered: int = Field(description="Contacts an agent took.")
    abandoned: int = Field(description="Contacts whose customer left before an answer.")
    abandonment_rate: float | None = Field(description="abandoned / offered.")
    service_level: float | None = Field(
        description="Answered within the threshold / (answered + abandoned after it)."
    )
    service_level_abandon_inclusive: float | None = Field(
        description="Answered within the threshold / offered."
    )
    threshold_s: float = Field(description="The service level threshold, in seconds.")
    asa_s: float | None = Field(description="Mean wait of the answered contacts, in seconds.")
    first_response_s_median: float | None = Field(description="Arrival to first agent reply.")
    first_response_s_p90: float | None = Field(description="90th percentile (nearest rank).")
    resolution_s_median: float | None = Field(description="Arrival to resolution.")
    resolution_s_p90: float | None = Field(description="90th percentile (nearest rank).")
    handle_s: float | None = Field(description="Mean handle time: held by agents + wrap-up.")
    wrap_s: float | None = Field(description="Mean wrap-up time.")
    transfers_per_contact: float | None = Field(description="Transfers / answered.")
    fcr_rate: float | None = Field(
        description="Resolved with no transfer and not reopened / resolved."
    )
    csat: float | None = Field(description="Mean CSAT rating (1 to 5).")
    csat_satisfied_rate: float | None = Field(description="Share of CSAT ratings of 4 or 5.")
    csat_responses: int = Field(description="CSAT ratings given.")
    nps: float | None = Field(description="% promoters - % detractors (-100 to 100).")
    nps_responses: int = Field(description="NPS answers given.")
    occupancy: float | None = Field(
        description="Time with at least one contact / available time (concurrency-aware)."
    )
    utilisation: float | None = Field(
        description="Summed handle time / available time (above 1 with concurrent chats)."
    )
    contacts_per_agent_day: float | None = Field(
        description="Answered contacts / distinct (agent, day) pairs."
    )


class ReportRowOut(BaseModel):
    key: str = Field(description="The group's id or value; `(none)` for contacts without one.")
    label: str = Field(description="The group's name (a queue's, team's or agent's).")
    metrics: MetricsOut


class ReportOut(BaseModel):
    start: datetime = Field(description="The period's start (included).")
    end: datetime = Field(description="The period's end (excluded).")
    group_by: str | None
    threshold_s: float
    timezone: str = Field(description="The time zone of hours and days.")
    total: MetricsOut
    rows: list[ReportRowOut]


class ArrivalOut(BaseModel):
    start: datetime
    contacts: int


class ArrivalsOut(BaseModel):
    start: datetime = Field(description="The period's start (included).")
    end: datetime = Field(description="The period's end (excluded).")
    interval_s: int
    rows: list[ArrivalOut]


class ForecastRowOut(BaseModel):
    start: datetime
    forecast: float
    actual: int | None = Field(description="What arrived; null while the interval is not over.")


class ForecastOut(BaseModel):
    method: str
    interval_s: int
    season_intervals: int = Field(description="A week or a day of intervals.")
    history_from: datetime
    history_to: datetime
    rows: list[ForecastRowOut]
