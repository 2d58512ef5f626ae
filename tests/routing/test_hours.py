"""Business hours: concrete cases (DST in London and New York, holidays) and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnidesk.routing.hours import (
    WEEKDAYS,
    Holiday,
    HoursError,
    Interval,
    Schedule,
    check_timezone,
)
from tests.calendars import OFFICE, calendar, local, utc

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600.0


# Ordinary weeks ---------------------------------------------------------------------------


def test_an_office_week_in_london() -> None:
    s = calendar("Europe/London", OFFICE)
    monday = local(LONDON, 2026, 6, 1, 9, 30)  # BST: 08:30 UTC
    assert s.is_open(monday)
    assert not s.is_open(local(LONDON, 2026, 6, 1, 8, 59))
    assert not s.is_open(local(LONDON, 2026, 6, 1, 17, 0))  # the end is excluded
    assert s.next_close(monday) == local(LONDON, 2026, 6, 1, 17, 0)
    assert s.next_close(local(LONDON, 2026, 6, 1, 18, 0)) == local(LONDON, 2026, 6, 1, 18, 0)
    friday_evening = local(LONDON, 2026, 6, 5, 18, 0)
    assert s.next_open(friday_evening) == local(LONDON, 2026, 6, 8, 9, 0)
    assert s.next_open(monday) == monday
    week = s.open_seconds_between(local(LONDON, 2026, 6, 1), local(LONDON, 2026, 6, 8))
    assert week == 5 * 8 * HOUR


def test_several_intervals_a_day_and_a_day_that_runs_to_midnight() -> None:
    s = calendar(
        "UTC",
        {
            "monday": [("13:00", "17:00"), ("09:00", "12:00")],
            "tuesday": [("18:00", "24:00")],
            "wednesday": [("00:00", "02:00")],
        },
    )
    assert not s.is_open(utc(2026, 6, 1, 12, 30))  # lunch
    assert s.next_open(utc(2026, 6, 1, 12, 30)) == utc(2026, 6, 1, 13, 0)
    # Tuesday 18:00 to 24:00 and Wednesday 00:00 to 02:00 are one opening.
    assert s.next_close(utc(2026, 6, 2, 20, 0)) == utc(2026, 6, 3, 2, 0)
    assert s.is_open(utc(2026, 6, 3, 0, 0))
    assert s.open_seconds_between(utc(2026, 6, 1), utc(2026, 6, 4)) == (3 + 4 + 6 + 2) * HOUR


def test_always_and_never_open() -> None:
    always = Schedule.always_open("Europe/London")
    assert always.is_open(utc(2026, 3, 29, 1, 30))
    assert always.next_close(utc(2026, 3, 29, 1, 30)) is None
    assert always.open_seconds_between(utc(2026, 1, 1), utc(2026, 1, 2)) == 24 * HOUR
    never = calendar("UTC", {})
    assert not never.is_open(utc(2026, 1, 1))
    assert never.next_open(utc(2026, 1, 1)) is None
    assert never.next_close(utc(2026, 1, 1)) == utc(2026, 1, 1)
    assert never.open_seconds_between(utc(2026, 1, 1), utc(2027, 1, 1)) == 0


def test_answers_are_utc_and_naive_datetimes_are_refused() -> None:
    s = calendar("America/New_York", OFFICE)
    found = s.next_open(utc(2026, 6, 6))
    assert found is not None
    assert found.tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        s.is_open(datetime(2026, 6, 1, 10, 0))
    with pytest.raises(ValueError, match="between the years"):
        s.is_open(datetime(1, 1, 1, tzinfo=UTC))


# Daylight saving ----------------------------------------------------------------------------


def test_new_york_spring_forward_2026_03_08() -> None:
    # At 02:00 EST the clocks jump to 03:00 EDT (07:00 UTC): 02:00 to 03:00 never happens.
    s = calendar("America/New_York", {"sunday": [("02:30", "09:00")]})
    saturday = utc(2026, 3, 7, 12)
    assert s.next_open(saturday) == utc(2026, 3, 8, 7, 0)  # 03:00 EDT, the end of the gap
    assert s.is_open(local(NEW_YORK, 2026, 3, 8, 3, 0))
    assert s.next_close(utc(2026, 3, 8, 8)) == local(NEW_YORK, 2026, 3, 8, 9, 0)
    assert s.open_seconds_between(utc(2026, 3, 7), utc(2026, 3, 10)) == 6 * HOUR
    # An opening wholly inside the gap does not happen that day.
    gap = calendar("America/New_York", {"sunday": [("02:00", "02:45")]})
    assert gap.open_seconds_between(utc(2026, 3, 7), utc(2026, 3, 10)) == 0
    assert gap.next_open(saturday) == local(NEW_YORK, 2026, 3, 15, 2, 0)
    # A day across the change is an hour shorter.
    day = calendar("America/New_York", {"sunday": [("00:00", "24:00")]})
    assert day.open_seconds_between(utc(2026, 3, 7), utc(2026, 3, 10)) == 23 * HOUR


def test_new_york_fall_back_2026_11_01() -> None:
    # At 02:00 EDT the clocks go back to 01:00 EST: 01:00 to 02:00 happens twice.
    s = calendar("America/New_York", {"sunday": [("01:00", "02:00")]})
    first = local(NEW_YORK, 2026, 11, 1, 1, 30, fold=0)  # 05:30 UTC
    second = local(NEW_YORK, 2026, 11, 1, 1, 30, fold=1)  # 06:30 UTC
    assert s.is_open(first)
    assert s.is_open(second)
    assert s.next_open(utc(2026, 10, 31)) == utc(2026, 11, 1, 5, 0)
    assert s.next_close(first) == utc(2026, 11, 1, 7, 0)
    assert s.open_seconds_between(utc(2026, 10, 31), utc(2026, 11, 3)) == 2 * HOUR
    day = calendar("America/New_York", {"sunday": [("00:00", "24:00")]})
    assert day.open_seconds_between(utc(2026, 10, 31), utc(2026, 11, 3)) == 25 * HOUR


def test_london_clock_changes_2026() -> None:
    early = calendar("Europe/London", {"sunday": [("00:00", "03:00")]})
    # 29 March: 01:00 GMT becomes 02:00 BST, so 00:00 to 03:00 lasts two hours…
    assert early.open_seconds_between(utc(2026, 3, 28), utc(2026, 3, 30)) == 2 * HOUR
    assert early.next_close(utc(2026, 3, 29, 0, 30)) == utc(2026, 3, 29, 2, 0)
    assert not early.is_open(utc(2026, 3, 29, 2, 0))
    # …and on 25 October, when 02:00 BST becomes 01:00 GMT, four.
    assert early.open_seconds_between(utc(2026, 10, 24), utc(2026, 10, 26)) == 4 * HOUR
    assert early.next_open(utc(2026, 10, 24, 12)) == utc(2026, 10, 24, 23, 0)
    office = calendar("Europe/London", OFFICE)
    # The Monday after each change opens at 09:00 local, whatever the offset.
    assert office.next_open(utc(2026, 3, 28)) == utc(2026, 3, 30, 8, 0)
    assert office.next_open(utc(2026, 10, 24)) == utc(2026, 10, 26, 9, 0)


# Holidays ---------------------------------------------------------------------------------


def test_christmas_holidays_with_a_short_christmas_eve() -> None:
    s = calendar(
        "Europe/London",
        OFFICE,
        [
            Holiday(date(2026, 12, 25), date(2026, 12, 26), "Christmas"),
            Holiday(
                date(2026, 12, 24), date(2026, 12, 24), "Eve", (Interval.parse("09:00", "12:00"),)
            ),
        ],
    )
    assert s.is_open(local(LONDON, 2026, 12, 24, 11, 0))
    assert not s.is_open(local(LONDON, 2026, 12, 24, 13, 0))
    assert s.next_close(local(LONDON, 2026, 12, 24, 11, 0)) == local(LONDON, 2026, 12, 24, 12, 0)
    # Thursday noon: Friday is Christmas, then the weekend; Monday the 28th opens.
    assert s.next_open(local(LONDON, 2026, 12, 24, 12, 30)) == local(LONDON, 2026, 12, 28, 9, 0)
    assert not s.is_open(local(LONDON, 2026, 12, 25, 10, 0))
    week = s.open_seconds_between(local(LONDON, 2026, 12, 21), local(LONDON, 2026, 12, 28))
    assert week == (3 * 8 + 3) * HOUR


def test_a_holiday_may_open_a_day_that_is_otherwise_closed() -> None:
    s = calendar(
        "UTC", {}, [Holiday(date(2026, 12, 6), date(2026, 12, 6), "Sale", (Interval(600, 720),))]
    )
    assert s.next_open(utc(2026, 1, 1)) == utc(2026, 12, 6, 10, 0)
    assert s.next_open(utc(2026, 12, 6, 13)) is None


# Validation -------------------------------------------------------------------------------


def test_invalid_calendars_name_the_field() -> None:
    with pytest.raises(HoursError) as caught:
        check_timezone("Mars/Olympus_Mons")
    assert caught.value.field == "timezone"
    for bad in ("localtime", "", "../../etc/passwd"):
        with pytest.raises(HoursError):
            check_timezone(bad)
    with pytest.raises(HoursError) as caught:
        calendar("UTC", {"tuesday": [("09:00", "12:00"), ("11:00", "13:00")]})
    assert caught.value.field == "weekly.tuesday"
    with pytest.raises(HoursError) as caught:
        Interval.parse("22:00", "02:00")
    assert caught.value.field == "end"
    assert "use two" in caught.value.message
    with pytest.raises(HoursError):
        Interval.parse("10:00", "10:00")
    with pytest.raises(HoursError):
        Interval.parse("24:00", "24:00")
    with pytest.raises(HoursError):
        Interval.parse("9:00", "10:00")
    with pytest.raises(HoursError) as caught:
        calendar(
            "UTC",
            {},
            [
                Holiday(date(2026, 12, 24), date(2026, 12, 26)),
                Holiday(date(2026, 12, 26), date(2026, 12, 26)),
            ],
        )
    assert caught.value.field == "holidays"
    with pytest.raises(HoursError):
        Holiday(date(2026, 12, 26), date(2026, 12, 24))
    # Touching intervals are fine (and merge).
    touching = calendar("UTC", {"monday": [("09:00", "12:00"), ("12:00", "13:00")]})
    assert touching.next_close(utc(2026, 6, 1, 10)) == utc(2026, 6, 1, 13)


# Properties -------------------------------------------------------------------------------

ZONES = ["UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]


@st.composite
def days(draw: st.DrawFn) -> tuple[Interval, ...]:
    points = sorted(draw(st.lists(st.integers(0, 96), unique=True, max_size=6)))
    return tuple(Interval(a * 15, b * 15) for a, b in zip(points[::2], points[1::2], strict=False))


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    weekly = tuple(draw(days()) for _ in WEEKDAYS)
    holidays: list[Holiday] = []
    day = date(2026, 1, 1)
    for _ in range(draw(st.integers(0, 4))):
        day += timedelta(days=draw(st.integers(0, 120)))
        length = draw(st.integers(0, 3))
        holidays.append(Holiday(day, day + timedelta(days=length), "h", draw(days())))
        day += timedelta(days=length + 1)
    return Schedule(draw(st.sampled_from(ZONES)), weekly, tuple(holidays))


instants = st.integers(0, 2 * 366 * 24 * 3600).map(
    lambda s: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=s)
)


@settings(max_examples=150, deadline=None)
@given(schedules(), instants, instants, instants)
def test_open_time_adds_up(s: Schedule, x: datetime, y: datetime, z: datetime) -> None:
    a, b, c = sorted((x, y, z))
    assert s.open_time_between(a, c) == s.open_time_between(a, b) + s.open_time_between(b, c)
    assert s.open_seconds_between(a, c) == s.open_seconds_between(a, b) + s.open_seconds_between(
        b, c
    )
    assert s.open_seconds_between(c, a) == 0 or a == c


@settings(max_examples=150, deadline=None)
@given(schedules(), instants)
def test_next_open_and_next_close_agree_with_is_open(s: Schedule, t: datetime) -> None:
    second = timedelta(seconds=1)
    assert s.is_open(t) == (s.open_time_between(t, t + second) == second)
    opens = s.next_open(t)
    if opens is not None:
        assert opens >= t
        assert s.is_open(opens)
        assert s.open_time_between(t, opens) == timedelta(0)
    closes = s.next_close(t)
    if closes is not None:
        assert closes >= t
        assert not s.is_open(closes)
        assert s.open_time_between(t, closes) == closes - t
    if s.is_open(t):
        assert opens == t
    else:
        assert closes == t
