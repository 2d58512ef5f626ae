"""Business-time arithmetic for SLA clocks. Pure (no database, no "now").

A calendar is a :class:`~omnidesk.routing.hours.Schedule` (weekly hours in an IANA zone,
holidays; daylight-saving changes follow the wall clock, see ``routing.hours``) or None for
24/7, where business time is wall time. Instants are timezone-aware; answers are UTC.

* :func:`add` — the due time: an instant plus an amount of business time;
* :func:`elapsed` — the business time between two instants.

They are each other's inverse: ``elapsed(c, t, add(c, t, d)) == d``, and
``add(c, t, elapsed(c, t, u)) == u`` whenever business time runs just before ``u``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omnidesk.routing.hours import Schedule

#: None: open around the clock.
Calendar = Schedule | None


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business time needs timezone-aware datetimes")
    return at.astimezone(UTC)


def add(calendar: Calendar, at: datetime, amount: timedelta) -> datetime | None:
    """The earliest instant by which ``amount`` of business time has passed since ``at``;
    None when the calendar never provides that much (it closes for ever)."""
    if amount < timedelta(0):
        raise ValueError("cannot add a negative amount of business time")
    if calendar is None:
        return _aware(at) + amount
    return calendar.add_open_time(at, amount)


def elapsed(calendar: Calendar, start: datetime, end: datetime) -> timedelta:
    """The business time in ``[start, end)``; zero when ``end`` is not after ``start``."""
    if calendar is None:
        return max(_aware(end) - _aware(start), timedelta(0))
    return calendar.open_time_between(start, end)


def until(calendar: Calendar, now: datetime, due: datetime) -> timedelta:
    """Business time left from ``now`` to ``due``, negative (the business time overdue)
    once ``due`` has passed."""
    if due >= now:
        return elapsed(calendar, now, due)
    return -elapsed(calendar, due, now)
