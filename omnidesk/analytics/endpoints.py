"""The reports API: a period's figures (JSON or CSV), arrivals per interval, forecasts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime

from omnidesk.analytics import service
from omnidesk.analytics.metrics import Summary
from omnidesk.analytics.schemas import (
    ArrivalOut,
    ArrivalsOut,
    ForecastOut,
    ForecastRowOut,
    MetricsOut,
    ReportOut,
    ReportRowOut,
)
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

SUPERVISORS = "Supervisors and admins; the caller's account only."
From = Annotated[
    AwareDatetime,
    Query(alias="from", description="The period's start (included), ISO 8601 with an offset."),
]
To = Annotated[
    AwareDatetime,
    Query(alias="to", description="The period's end (excluded), ISO 8601 with an offset."),
]
Interval = Annotated[
    int, Query(alias="interval", description="Seconds per interval; must divide a day.")
]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
}


def _metrics(summary: Summary) -> MetricsOut:
    return MetricsOut.model_validate(summary.to_dict())


@router.get(
    "/summary",
    summary="Report figures for a period, in total and per group (JSON or CSV)",
    description="Contacts offered in `[from, to)` (at most 93 days), each followed to now: "
    "volumes, service level (classic and abandon-inclusive, `threshold_s`), ASA, first "
    "response and resolution times, handle time, transfers, first-contact resolution, CSAT, "
    "NPS, occupancy and utilisation, contacts per agent per day — definitions in "
    "docs/workforce.md. `group_by` adds one row per channel, queue, team, agent, hour of day "
    "or day (hours and days in `tz`). `format=csv` or `Accept: text/csv` gives the table as "
    "CSV (one line per group, then the total). 422 names the field at fault (`from`, `to`, "
    "`group_by`, `threshold_s`, `tz`). " + SUPERVISORS,
    response_model=ReportOut,
    responses=CSV_RESPONSE,
)
async def summary(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    start: From,
    end: To,
    group_by: Annotated[
        str | None, Query(description="channel, queue, team, agent, hour or day.")
    ] = None,
    threshold_s: Annotated[
        float, Query(description="Service level threshold in seconds (0 to 86400).")
    ] = 20.0,
    tz: Annotated[str, Query(description="IANA time zone of hours and days.")] = "UTC",
    format: Annotated[Literal["json", "csv"] | None, Query(description="json or csv.")] = None,
) -> ReportOut | Response:
    report = await service.summary_report(
        session,
        clock,
        principal,
        start,
        end,
        group=group_by or None,
        threshold_s=threshold_s,
        tz_name=tz,
    )
    wants_csv = format == "csv" or (
        format is None and "text/csv" in request.headers.get("accept", "")
    )
    if wants_csv:
        name = f"report-{report.period.start:%Y%m%d}-{report.period.end:%Y%m%d}.csv"
        return Response(
            service.report_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return ReportOut(
        start=report.period.start,
        end=report.period.end,
        group_by=report.group_by,
        threshold_s=report.threshold_s,
        timezone=report.timezone,
        total=_metrics(report.total),
        rows=[
            ReportRowOut(key=r.key, label=r.label, metrics=_metrics(r.summary)) for r in report.rows
        ],
    )


@router.get(
    "/arrivals",
    summary="Contacts offered per interval",
    description="Every interval of `interval` seconds (which divides a day, counted from "
    "midnight UTC) covering `[from, to)`, at most 366 days, with the contacts that arrived in "
    "it (entered routing), 0 included. " + SUPERVISORS,
)
async def arrivals(
    principal: PrincipalDep,
    session: SessionDep,
    start: From,
    end: To,
    interval_s: Interval = 1800,
) -> ArrivalsOut:
    period, counts = await service.arrivals(session, principal, start, end, interval_s)
    return ArrivalsOut(
        start=period.start,
        end=period.end,
        interval_s=interval_s,
        rows=[ArrivalOut(start=t, contacts=c) for t, c in counts],
    )


@router.get(
    "/forecast",
    summary="Forecast arrivals from history, beside the actuals",
    description="Arrivals per interval in the history `[from, to)` (at most 366 days) "
    "forecast for the `days` after `to` with `method` (`seasonal-naive` or `ets`, "
    "exponential smoothing; docs/workforce.md), each interval beside what arrived in it "
    "(`actual`, null until the interval is over). Seasonal naive needs a day of history, "
    "exponential smoothing two. " + SUPERVISORS,
)
async def forecast(
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    start: From,
    end: To,
    interval_s: Interval = 1800,
    method: Annotated[str, Query(description="seasonal-naive or ets.")] = "seasonal-naive",
    days: Annotated[int, Query(description="Days to forecast (1 to 31).")] = 1,
) -> ForecastOut:
    result = await service.forecast_report(
        session, clock, principal, start, end, interval_s=interval_s, method=method, days=days
    )
    return ForecastOut(
        method=result.method,
        interval_s=result.interval_s,
        season_intervals=result.season_intervals,
        history_from=result.history.start,
        history_to=result.history.end,
        rows=[
            ForecastRowOut(start=r.start, forecast=r.forecast, actual=r.actual) for r in result.rows
        ],
    )
