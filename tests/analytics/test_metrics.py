"""Report metrics over a scripted list of contacts, checked against figures worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from omnidesk.analytics.metrics import (
    FIELDS,
    ContactRecord,
    busy_seconds,
    group_by,
    percentile,
    summarise,
)
from omnidesk.kit.errors import ValidationFailed

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# name: (channel, queue, team, agent, arrived, answered, abandoned, first response, resolved,
#        handle, wrap, transfers, reopened, csat, nps), times in seconds after 09:00 on day 1
RECORDS = {
    "chat-1": ContactRecord(
        "chat", "sales", "A", "ann", at(0), at(10), None, at(30), at(610), 600, 60, 0, False, 5, 10
    ),
    "chat-2": ContactRecord(
        "chat",
        "sales",
        "A",
        "ann",
        at(60),
        at(90),
        None,
        at(150),
        at(1260),
        900,
        30,
        1,
        False,
        3,
        7,
    ),
    "email": ContactRecord(
        "email",
        "support",
        "B",
        "bob",
        at(3600),
        at(3605),
        None,
        at(3700),
        at(7200),
        300,
        0,
        0,
        True,
        4,
        5,
    ),
    "chat-left-early": ContactRecord(
        "chat", "sales", None, None, at(120), None, at(135), None, None, None
    ),
    "call-left-late": ContactRecord(
        "voice", "support", None, None, at(3700), None, at(3760), None, None, None
    ),
    "call-day-2": ContactRecord(
        "voice",
        "support",
        "B",
        "bob",
        at(86400),
        at(86420),
        None,
        at(86420),
        at(86600),
        180,
        20,
        csat=2,
    ),
}
AGENT_SECONDS = {"ann": 3600.0, "bob": 7200.0}


def test_the_scripted_contacts_give_the_hand_computed_figures() -> None:
    summary = summarise(RECORDS.values(), threshold_s=20, agent_seconds=AGENT_SECONDS)
    # waits of the answered: 10, 30, 5, 20 (3 within 20 s); abandoned after 15 s and 60 s
    assert (summary.offered, summary.answered, summary.abandoned) == (6, 4, 2)
    assert summary.abandonment_rate == pytest.approx(2 / 6)
    assert summary.service_level == pytest.approx(3 / (4 + 1))  # the 15 s abandon is left out
    assert summary.service_level_abandon_inclusive == pytest.approx(3 / 6)
    assert summary.asa_s == pytest.approx((10 + 30 + 5 + 20) / 4)
    # first responses 30, 90, 100, 20; resolutions 610, 1200, 3600, 200
    assert summary.first_response_s_median == pytest.approx((30 + 90) / 2)
    assert summary.first_response_s_p90 == pytest.approx(100)
    assert summary.resolution_s_median == pytest.approx((610 + 1200) / 2)
    assert summary.resolution_s_p90 == pytest.approx(3600)
    assert summary.handle_s == pytest.approx((600 + 900 + 300 + 180) / 4)
    assert summary.wrap_s == pytest.approx((60 + 30 + 0 + 20) / 4)
    assert summary.transfers_per_contact == pytest.approx(1 / 4)
    assert summary.fcr_rate == pytest.approx(2 / 4)  # one transferred, one reopened
    assert summary.csat == pytest.approx((5 + 3 + 4 + 2) / 4)
    assert summary.csat_satisfied_rate == pytest.approx(2 / 4)
    assert summary.csat_responses == 4
    assert summary.nps == pytest.approx(100 * (1 - 1) / 3)  # 10 promotes, 7 passive, 5 detracts
    assert summary.nps_responses == 3
    # ann's two chats overlap: busy 09:00:10-09:16:30 = 980 s once; bob 300 s + 180 s
    assert summary.occupancy == pytest.approx((980 + 300 + 180) / 10800)
    assert summary.utilisation == pytest.approx((600 + 900 + 300 + 180) / 10800)
    assert summary.contacts_per_agent_day == pytest.approx(4 / 3)  # ann d1, bob d1, bob d2


def test_to_dict_holds_every_field_in_order() -> None:
    summary = summarise(RECORDS.values())
    assert tuple(summary.to_dict()) == FIELDS
    assert summary.to_dict()["offered"] == 6
    assert summary.occupancy is None  # no agent time given
    assert summary.utilisation is None


def test_a_wait_of_exactly_the_threshold_is_within_it() -> None:
    summary = summarise([RECORDS["call-day-2"]], threshold_s=20)
    assert summary.service_level == 1.0
    assert summarise([RECORDS["call-day-2"]], threshold_s=19.9).service_level == 0.0


def test_no_contacts_gives_none_rather_than_zero() -> None:
    summary = summarise([], agent_seconds={"ann": 3600.0})
    assert summary.offered == 0
    assert summary.service_level is None
    assert summary.abandonment_rate is None
    assert summary.asa_s is None
    assert summary.nps is None
    assert summary.occupancy == 0.0  # available but idle


def test_busy_time_is_clipped_to_the_window() -> None:
    window = (at(0), at(500))
    assert busy_seconds(RECORDS.values(), window) == pytest.approx(490)  # 09:00:10-09:08:20


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5, 1, 4, 2, 3], 0.9) == 5
    assert percentile([5, 1, 4, 2, 3], 0.5) == 3
    assert percentile([7], 0.9) == 7
    assert percentile([], 0.9) is None


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("channel", {"chat": 3, "email": 1, "voice": 2}),
        ("queue", {"sales": 3, "support": 3}),
        ("team", {"(none)": 2, "A": 2, "B": 2}),
        ("agent", {"(none)": 2, "ann": 2, "bob": 2}),
        ("hour", {"09:00": 4, "10:00": 2}),
        ("day", {"2026-03-02": 5, "2026-03-03": 1}),
    ],
)
def test_group_by(key: str, expected: dict[str, int]) -> None:
    groups = group_by(RECORDS.values(), key)
    assert {name: len(rows) for name, rows in groups.items()} == expected
    assert list(groups) == sorted(expected)


def test_hours_and_days_are_read_in_the_given_time_zone() -> None:
    groups = group_by(RECORDS.values(), "hour", tz=ZoneInfo("Europe/Paris"))
    assert {name: len(rows) for name, rows in groups.items()} == {"10:00": 4, "11:00": 2}


def test_bad_inputs_name_their_field() -> None:
    with pytest.raises(ValidationFailed) as unknown:
        group_by(RECORDS.values(), "weekday")
    assert unknown.value.field == "group_by"
    with pytest.raises(ValidationFailed) as negative:
        summarise(RECORDS.values(), threshold_s=-1)
    assert negative.value.field == "threshold_s"
