"""Business-time arithmetic: hand-checked cases across DST changes and holidays, and
properties over random calendars (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from omnidesk.routing.hours import WEEKDAYS, Holiday, Interval, Schedule
from omnidesk.sla.business_time import add, elapsed, until
from tests.calendars import OFFICE, calendar, utc

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)


def at(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)  # type: ignore[misc]


EVERY_DAY = WEEKDAYS


# Hand-checked -------------------------------------------------------------------------


def test_a_deadline_that_uses_up_a_day_falls_on_its_close_not_the_next_opening() -> None:
    office = calendar("Europe/Paris", OFFICE)
    monday = at(PARIS, 2026, 6, 1, 9, 0)
    assert add(office, monday, 8 * H) == at(PARIS, 2026, 6, 1, 17, 0)
    assert add(office, monday, 8 * H + timedelta(seconds=1)) == at(PARIS, 2026, 6, 2, 9, 0, 1)
    # From a closed instant, the clock starts at the next opening; zero is the instant itself.
    saturday = at(PARIS, 2026, 6, 6, 12, 0)
    assert add(office, saturday, H) == at(PARIS, 2026, 6, 8, 10, 0)
    assert add(office, saturday, timedelta(0)) == saturday


def test_office_hours_over_the_paris_spring_forward_weekend() -> None:
    office = calendar("Europe/Paris", OFFICE)
    friday = at(PARIS, 2026, 3, 27, 16, 0)  # CET, UTC+1: 15:00 UTC
    monday = add(office, friday, 2 * H)
    assert monday == at(PARIS, 2026, 3, 30, 10, 0)  # CEST, UTC+2
    assert monday == utc(2026, 3, 30, 8, 0)
    assert elapsed(office, friday, monday) == 2 * H
    # The wall clock lost an hour over the weekend, business time none.
    assert monday - friday == timedelta(days=2, hours=17)


def test_hours_that_span_the_missing_hour_in_paris() -> None:
    # On 29 March 2026 the clocks jump from 02:00 to 03:00: 01:00-05:00 is three real hours.
    night = calendar("Europe/Paris", {"sunday": [("01:00", "05:00")]})
    start = at(PARIS, 2026, 3, 29, 1, 0)
    assert elapsed(night, start, at(PARIS, 2026, 3, 29, 5, 0)) == 3 * H
    assert add(night, start, 3 * H) == at(PARIS, 2026, 3, 29, 5, 0) == utc(2026, 3, 29, 3, 0)
    assert add(night, start, H + timedelta(minutes=30)) == utc(2026, 3, 29, 1, 30)  # 03:30 CEST


def test_hours_that_span_the_repeated_hour_in_paris() -> None:
    # On 25 October 2026 02:00-03:00 happens twice: 00:00-04:00 is five real hours.
    night = calendar("Europe/Paris", {"sunday": [("00:00", "04:00")]})
    start = at(PARIS, 2026, 10, 25, 0, 0)
    assert elapsed(night, start, at(PARIS, 2026, 10, 25, 4, 0)) == 5 * H
    assert add(night, start, 5 * H) == utc(2026, 10, 25, 3, 0)
    # The second 02:30 (CET) comes three and a half real hours after midnight.
    second = at(PARIS, 2026, 10, 25, 2, 30, fold=1).astimezone(UTC)  # PEP 495: compare in UTC
    assert add(night, start, 3.5 * H) == second == utc(2026, 10, 25, 1, 30)


def test_a_night_shift_across_midnight_and_the_new_york_dst_changes() -> None:
    # 22:00-06:00 every night, written as two intervals that meet at midnight.
    nights = calendar(
        "America/New_York", {day: [("00:00", "06:00"), ("22:00", "24:00")] for day in EVERY_DAY}
    )
    spring = at(NEW_YORK, 2026, 3, 7, 22, 0)  # the night of 7-8 March loses an hour
    assert add(nights, spring, 7 * H) == at(NEW_YORK, 2026, 3, 8, 6, 0) == utc(2026, 3, 8, 10)
    assert add(nights, spring, 7 * H + timedelta(seconds=1)) == at(NEW_YORK, 2026, 3, 8, 22, 0, 1)
    autumn = at(NEW_YORK, 2026, 10, 31, 22, 0)  # the night of 31 Oct-1 Nov gains one
    assert elapsed(nights, autumn, at(NEW_YORK, 2026, 11, 1, 6, 0)) == 9 * H
    assert add(nights, autumn, 9 * H) == utc(2026, 11, 1, 11, 0)
    # Across midnight the clock does not stop.
    assert add(nights, spring, 2 * H) == at(NEW_YORK, 2026, 3, 8, 0, 0)


def test_holidays_closed_all_day_and_open_short() -> None:
    office = calendar(
        "Europe/Paris",
        OFFICE,
        [
            Holiday(date(2026, 12, 25), date(2026, 12, 25), "Christmas"),
            Holiday(
                date(2026, 12, 31), date(2026, 12, 31), "NYE", (Interval.parse("09:00", "12:00"),)
            ),
            Holiday(date(2027, 1, 1), date(2027, 1, 1), "New Year"),
        ],
    )
    thursday = at(PARIS, 2026, 12, 24, 16, 0)
    assert add(office, thursday, 2 * H) == at(PARIS, 2026, 12, 28, 10, 0)  # Friday is closed
    new_years_eve = at(PARIS, 2026, 12, 31, 11, 0)
    assert add(office, new_years_eve, 2 * H) == at(PARIS, 2027, 1, 4, 10, 0)
    assert elapsed(office, at(PARIS, 2026, 12, 28), at(PARIS, 2027, 1, 4)) == 4 * 8 * H - 5 * H


def test_without_a_calendar_business_time_is_wall_time() -> None:
    start = at(PARIS, 2026, 3, 29, 1, 0)
    assert add(None, start, 3 * H) == utc(2026, 3, 29, 3, 0)
    assert elapsed(None, start, utc(2026, 3, 29, 3, 0)) == 3 * H
    assert elapsed(None, utc(2026, 3, 29, 3, 0), start) == timedelta(0)


def test_time_left_is_negative_once_overdue() -> None:
    office = calendar("UTC", OFFICE)
    due = utc(2026, 6, 1, 12, 0)
    assert until(office, utc(2026, 6, 1, 10, 0), due) == 2 * H
    assert until(office, utc(2026, 6, 2, 10, 0), due) == -(5 * H + H)


def test_a_calendar_that_closes_for_ever_has_no_due_time() -> None:
    only_holiday = calendar(
        "UTC", {}, [Holiday(date(2026, 6, 1), date(2026, 6, 1), "open day", (Interval(540, 600),))]
    )
    assert add(only_holiday, utc(2026, 5, 1), H) == utc(2026, 6, 1, 10, 0)
    assert add(only_holiday, utc(2026, 5, 1), 2 * H) is None


def test_naive_datetimes_and_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add(None, datetime(2026, 1, 1), H)
    with pytest.raises(ValueError, match="negative"):
        add(calendar("UTC", OFFICE), utc(2026, 1, 1), -H)


# Properties ---------------------------------------------------------------------------

ZONES = ["Europe/Paris", "America/New_York", "UTC", "Australia/Lord_Howe", "Asia/Kolkata"]


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    half_hours = st.integers(min_value=0, max_value=48)
    weekly = []
    for _ in WEEKDAYS:
        cuts = sorted(set(draw(st.lists(half_hours, max_size=4))))
        pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
        weekly.append(tuple(Interval(a * 30, b * 30) for a, b in pairs if b > a))
    assume(any(weekly))
    holidays = []
    for offset in sorted(set(draw(st.lists(st.integers(0, 700), max_size=4)))):
        day = date(2026, 1, 1) + timedelta(days=offset)
        if holidays and holidays[-1].end >= day:
            continue
        holidays.append(Holiday(day, day))
    return Schedule(draw(st.sampled_from(ZONES)), tuple(weekly), tuple(holidays))


instants = st.integers(min_value=0, max_value=600 * 24 * 3600).map(
    lambda s: utc(2026, 1, 1) + timedelta(seconds=s)
)
amounts = st.integers(min_value=0, max_value=300 * 3600).map(lambda s: timedelta(seconds=s))


@settings(max_examples=150, deadline=None)
@given(schedules(), instants, amounts)
def test_elapsed_undoes_add(calendar: Schedule, start: datetime, amount: timedelta) -> None:
    due = add(calendar, start, amount)
    assert due is not None
    assert due >= start
    assert elapsed(calendar, start, due) == amount


@settings(max_examples=150, deadline=None)
@given(schedules(), instants, amounts, st.integers(min_value=1, max_value=60 * 24 * 3600))
def test_add_undoes_elapsed_up_to_an_instant_just_after_business_time(
    calendar: Schedule, somewhen: datetime, amount: timedelta, before: int
) -> None:
    # Any instant just after business time is some instant plus some business time.
    end = add(calendar, somewhen, amount + timedelta(seconds=1))
    assert end is not None
    assert calendar.is_open(end - timedelta(seconds=1))
    start = end - timedelta(seconds=before)
    assert add(calendar, start, elapsed(calendar, start, end)) == end


@settings(max_examples=150, deadline=None)
@given(schedules(), instants, amounts, amounts)
def test_add_is_additive(
    calendar: Schedule, start: datetime, first: timedelta, second: timedelta
) -> None:
    middle = add(calendar, start, first)
    assert middle is not None
    assert add(calendar, middle, second) == add(calendar, start, first + second)


@settings(max_examples=150, deadline=None)
@given(schedules(), instants, instants, amounts, amounts)
def test_add_is_monotonic(
    calendar: Schedule, t1: datetime, t2: datetime, d1: timedelta, d2: timedelta
) -> None:
    (t1, t2), (d1, d2) = sorted((t1, t2)), sorted((d1, d2))
    a, b = add(calendar, t1, d1), add(calendar, t2, d2)
    assert a is not None
    assert b is not None
    assert a <= b


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ZONES), instants, instants, amounts)
def test_around_the_clock_is_wall_arithmetic(
    zone: str, start: datetime, end: datetime, amount: timedelta
) -> None:
    always = Schedule.always_open(zone)
    for schedule in (None, always):
        assert add(schedule, start, amount) == start + amount
        assert elapsed(schedule, start, end) == max(end - start, timedelta(0))
