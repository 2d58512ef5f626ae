"""Business hours: when a calendar is open, evaluated in its IANA timezone. Pure (no database).

A calendar is weekly opening intervals in local wall-clock time (``HH:MM``, an interval may
end at ``24:00`` but never crosses midnight: use two) plus holidays: a date or a date range,
closed all day or open on intervals of its own. Times in and out are timezone-aware
datetimes; inside, the calendar's days become UTC spans, half-open ``[start, end)``.

Daylight-saving changes follow the wall clock:

* a local time that does not exist (the spring-forward gap) means the instant the gap ends,
  so ``02:30``-``09:00`` on that day opens when the clocks jump to ``03:00``;
* a local time that happens twice (the fall-back fold) opens at its first occurrence and
  closes at its last, so ``00:00``-``02:00`` on that day is open for three real hours.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Instants outside these years are refused (date arithmetic near year 1 or 9999 overflows).
MIN_YEAR, MAX_YEAR = 1900, 9000
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_ONE_DAY = timedelta(days=1)
#: Files in the tz database that are not zones a calendar should name.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})

Span = tuple[datetime, datetime | None]  # end None: open from start on, for ever


class HoursError(ValueError):
    """An invalid calendar; ``field`` names the offending part (``weekly.monday``…)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_ZONES


def check_timezone(name: str) -> ZoneInfo:
    """The zone called ``name`` (an IANA name such as ``Europe/London``), or HoursError."""
    if name not in _known_zones():
        raise HoursError(f"unknown IANA timezone {name!r}", field="timezone")
    return ZoneInfo(name)


def parse_hhmm(value: str, *, field: str = "time") -> int:
    """Minutes after local midnight for ``HH:MM`` (``00:00`` to ``24:00``)."""
    match = _HHMM.match(value)
    minutes = int(match.group(1)) * 60 + int(match.group(2)) if match else -1
    if not match or minutes > MINUTES_PER_DAY:
        raise HoursError(f"{value!r} is not a time of day HH:MM (00:00 to 24:00)", field=field)
    return minutes


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, order=True)
class Interval:
    """Open from ``start`` to ``end`` minutes after local midnight, the same day."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < MINUTES_PER_DAY or not 0 < self.end <= MINUTES_PER_DAY:
            raise HoursError("times must lie within the day (00:00 to 24:00)", field="start")
        if self.end <= self.start:
            raise HoursError(
                f"ends ({format_hhmm(self.end)}) at or before it starts "
                f"({format_hhmm(self.start)}); an interval may not cross midnight: use two",
                field="end",
            )

    @classmethod
    def parse(cls, start: str, end: str) -> Interval:
        begin = parse_hhmm(start, field="start")
        if begin == MINUTES_PER_DAY:
            raise HoursError("an interval cannot start at 24:00", field="start")
        return cls(begin, parse_hhmm(end, field="end"))

    def __str__(self) -> str:
        return f"{format_hhmm(self.start)}-{format_hhmm(self.end)}"


ALL_DAY = Interval(0, MINUTES_PER_DAY)


def check_day(intervals: Sequence[Interval], *, field: str) -> tuple[Interval, ...]:
    """The intervals in order; overlapping ones are an error (touching ones are fine)."""
    ordered = tuple(sorted(intervals))
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise HoursError(f"{before} overlaps {after}", field=field)
    return ordered


@dataclass(frozen=True)
class Holiday:
    """Closed from ``start`` to ``end`` (inclusive), or open only on ``open`` those days."""

    start: date
    end: date
    name: str = ""
    open: tuple[Interval, ...] = ()

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise HoursError("a holiday cannot end before it starts", field="end")


def check_holidays(holidays: Sequence[Holiday], *, field: str = "holidays") -> tuple[Holiday, ...]:
    ordered = tuple(sorted(holidays, key=lambda h: h.start))
    for before, after in itertools.pairwise(ordered):
        if after.start <= before.end:
            raise HoursError(
                f"holiday {after.start.isoformat()} overlaps holiday "
                f"{before.start.isoformat()}..{before.end.isoformat()}",
                field=field,
            )
    for n, holiday in enumerate(ordered):
        check_day(holiday.open, field=f"{field}.{n}.open")
    return ordered


def _check_instant(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business hours need a timezone-aware datetime")
    if not MIN_YEAR <= at.year <= MAX_YEAR:
        raise ValueError(f"datetimes must lie between the years {MIN_YEAR} and {MAX_YEAR}")


@dataclass(frozen=True)
class Schedule:
    """A calendar ready to answer: open now? when next open, next closed? how long open?"""

    timezone: str
    #: Seven tuples of intervals, Monday first.
    weekly: tuple[tuple[Interval, ...], ...]
    holidays: tuple[Holiday, ...] = ()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _starts: list[date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", check_timezone(self.timezone))
        if len(self.weekly) != len(WEEKDAYS):
            raise HoursError("weekly needs one entry per weekday", field="weekly")
        weekly = tuple(
            check_day(day, field=f"weekly.{name}")
            for name, day in zip(WEEKDAYS, self.weekly, strict=True)
        )
        object.__setattr__(self, "weekly", weekly)
        object.__setattr__(self, "holidays", check_holidays(self.holidays))
        object.__setattr__(self, "_starts", [h.start for h in self.holidays])

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> Schedule:
        return cls(timezone, tuple((ALL_DAY,) for _ in WEEKDAYS))

    @classmethod
    def from_doc(
        cls, timezone: str, weekly: Mapping[str, Any], holidays: Sequence[Mapping[str, Any]]
    ) -> Schedule:
        """From the stored JSON shape: ``{"monday": [{"start", "end"}…]…}`` and
        ``[{"start": "2026-12-25", "end": "2026-12-26", "name", "open": [...]}…]``."""
        days = tuple(
            tuple(Interval.parse(i["start"], i["end"]) for i in weekly.get(name) or ())
            for name in WEEKDAYS
        )
        parsed = [
            Holiday(
                start=date.fromisoformat(h["start"]),
                end=date.fromisoformat(h.get("end") or h["start"]),
                name=h.get("name") or "",
                open=tuple(Interval.parse(i["start"], i["end"]) for i in h.get("open") or ()),
            )
            for h in holidays
        ]
        return cls(timezone, days, tuple(parsed))

    # Questions ------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        _check_instant(at)
        for start, end in self._spans(self._first_day(at)):
            if end is not None and end <= at:
                continue
            return start <= at
        return False

    def next_open(self, at: datetime) -> datetime | None:
        """The first instant at or after ``at`` when open (``at`` itself when open then);
        None when the calendar never opens again."""
        _check_instant(at)
        for start, end in self._spans(self._first_day(at)):
            if end is None or end > at:
                return max(start, at).astimezone(UTC)
        return None

    def next_close(self, at: datetime) -> datetime | None:
        """The first instant at or after ``at`` when closed (``at`` itself when closed
        then); None when the calendar never closes again."""
        _check_instant(at)
        for start, end in self._spans(self._first_day(at)):
            if end is None or end > at:
                if start > at:
                    return at.astimezone(UTC)
                return end
        return at.astimezone(UTC)

    def open_time_between(self, start: datetime, end: datetime) -> timedelta:
        """How much of ``[start, end)`` is open (zero when ``end`` is not after ``start``)."""
        _check_instant(start)
        _check_instant(end)
        total = timedelta(0)
        if end <= start:
            return total
        for span_start, span_end in self._spans(self._first_day(start)):
            if span_start >= end:
                break
            upto = end if span_end is None else min(span_end, end)
            since = max(span_start, start)
            if upto > since:
                total += upto - since
            if span_end is None:
                break
        return total

    def open_seconds_between(self, start: datetime, end: datetime) -> float:
        """Business seconds in ``[start, end)``: what SLA clocks count."""
        return self.open_time_between(start, end).total_seconds()

    def add_open_time(self, at: datetime, amount: timedelta) -> datetime | None:
        """The earliest instant ``u`` with ``open_time_between(at, u) == amount``: ``at``
        plus ``amount`` of open time (an SLA's due time). ``at`` itself for zero; a deadline
        that uses up an opening exactly falls on its close, not on the next opening. None
        when the calendar closes for ever before that much open time has passed."""
        _check_instant(at)
        if amount < timedelta(0):
            raise ValueError("cannot add a negative amount of open time")
        if amount == timedelta(0):
            return at.astimezone(UTC)
        left = amount
        for span_start, span_end in self._spans(self._first_day(at)):
            if span_end is not None and span_end <= at:
                continue
            since = max(span_start, at)
            if span_end is None or span_end - since >= left:
                return (since + left).astimezone(UTC)
            left -= span_end - since
        return None

    # The calendar as UTC spans ------------------------------------------------------------

    def _first_day(self, at: datetime) -> date:
        # The day before: its opening may run up to (and merge with) this day's.
        return at.astimezone(self._zone).date() - _ONE_DAY

    def _to_utc(self, day: date, minute: int, *, end: bool) -> datetime:
        naive = datetime.combine(day, time()) + timedelta(minutes=minute)
        first = naive.replace(tzinfo=self._zone, fold=0).astimezone(UTC)
        second = naive.replace(tzinfo=self._zone, fold=1).astimezone(UTC)
        if first == second:
            return first
        if first < second:  # the fold: the same wall time twice
            return second if end else first
        return self._gap_end(second, first)

    def _gap_end(self, before: datetime, after: datetime) -> datetime:
        """The instant the clocks jump, between two instants either side of it."""
        target = after.astimezone(self._zone).utcoffset()
        low, high = before, after
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) / 2
            if middle.astimezone(self._zone).utcoffset() == target:
                high = middle
            else:
                low = middle
        return high.replace(microsecond=0)

    def _holiday_on(self, day: date) -> Holiday | None:
        n = bisect.bisect_right(self._starts, day) - 1
        if n >= 0 and self.holidays[n].end >= day:
            return self.holidays[n]
        return None

    def _next_holiday_after(self, day: date) -> date | None:
        n = bisect.bisect_right(self._starts, day)
        return self._starts[n] if n < len(self._starts) else None

    def _raw_spans(self, day: date) -> Iterator[Span]:
        """Each day's openings from ``day`` on, in order, not yet merged."""
        always = all(d == (ALL_DAY,) for d in self.weekly)
        never = not any(self.weekly)
        last_day = date(MAX_YEAR + 1, 12, 1)
        while day < last_day:
            holiday = self._holiday_on(day)
            if holiday is not None:
                if not holiday.open:
                    day = holiday.end + _ONE_DAY
                    continue
                for interval in holiday.open:
                    yield self._span(day, interval)
                day += _ONE_DAY
                continue
            following = self._next_holiday_after(day)
            if always:  # open every minute until the next holiday, or for ever
                until = None if following is None else self._to_utc(following, 0, end=True)
                yield self._to_utc(day, 0, end=False), until
                if following is None:
                    return
                day = following
                continue
            if never:  # only holidays open
                if following is None:
                    return
                day = following
                continue
            for interval in self.weekly[day.weekday()]:
                yield self._span(day, interval)
            day += _ONE_DAY

    def _span(self, day: date, interval: Interval) -> Span:
        return (
            self._to_utc(day, interval.start, end=False),
            self._to_utc(day, interval.end, end=True),
        )

    def _spans(self, day: date) -> Iterator[Span]:
        """Open spans from ``day`` on, in order, touching and overlapping ones merged."""
        current: Span | None = None
        for start, end in self._raw_spans(day):
            if end is not None and end <= start:
                continue  # wholly inside a spring-forward gap: no time at all
            if current is None:
                current = (start, end)
            elif current[1] is not None and start <= current[1]:
                current = (current[0], None if end is None else max(current[1], end))
            else:
                yield current
                current = (start, end)
            if current[1] is None:
                yield current
                return
        if current is not None:
            yield current
