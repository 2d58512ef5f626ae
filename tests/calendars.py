"""Calendars and instants for the tests of business hours and business time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from omnidesk.routing.hours import WEEKDAYS, Holiday, Interval, Schedule

#: Monday to Friday, 09:00 to 17:00.
OFFICE = {name: [("09:00", "17:00")] for name in WEEKDAYS[:5]}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    """A wall-clock instant in ``zone`` (``fold=1``: the second of an hour that repeats)."""
    return datetime(*args, tzinfo=zone, fold=fold)  # type: ignore[misc]


def calendar(
    timezone: str, days: dict[str, list[tuple[str, str]]], holidays: list[Holiday] | None = None
) -> Schedule:
    """A schedule from opening times per weekday name (``{"mon": [("09:00", "17:00")]}``)."""
    weekly = tuple(
        tuple(Interval.parse(start, end) for start, end in days.get(name, [])) for name in WEEKDAYS
    )
    return Schedule(timezone, weekly, tuple(holidays or ()))
