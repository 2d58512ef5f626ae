"""Report figures over a scripted hour (day.py), against figures worked out by hand.

The hour's contacts (seconds after 09:00; threshold 20 s):

| contact | channel | agent | wait | first response | resolution | handle (held + wrap) |
|---|---|---|---|---|---|---|
| A | api | Ann | 10 | 30 | 300 | 290 + 60 = 350 (reopened by F) |
| B | api | Bob | 30 (Ann) | 70 | 200 | 10 (Ann) + 150 (Bob) + 60 = 220, 1 transfer |
| C | api | - | left after 45 | | | |
| D | api | - | left after 10 | | | |
| E | webchat | Ann | 5 | 15 | 100 | 95 + 60 = 155, CSAT 5 |
| F | api | Bob | 15 | 20 | 300 | 285 + 60 = 345 |

Available time (not away or offline): Ann 0-680 and 800-1600 = 1480 s; Bob 400-680 and
810-1600 = 1070 s. Busy (from each answer for the handle time): Ann 350 + 155 = 505 s; Bob
220 + 345 = 565 s.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from omnidesk.analytics.metrics import FIELDS
from omnidesk.cli import app as cli
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from tests.analytics.reports.day import Day, play_day
from tests.conftest import Tenant, make_tenant, make_user
from tests.routing.api.conftest import ok, refused
from tests.routing.embedded.support import Desk

REPORTS = "/api/v1/reports"


@pytest.fixture
async def day(client: httpx.AsyncClient, app: FastAPI, tenant: Tenant, frozen: FrozenClock) -> Day:
    desk = Desk(client, app, tenant)
    await desk.open()
    return await play_day(desk, frozen, app, tenant)


def _period(day: Day, **extra: Any) -> dict[str, Any]:
    return {
        "from": day.start.isoformat(),
        "to": (day.start + timedelta(hours=1)).isoformat(),
        **extra,
    }


async def _summary(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        await client.get(f"{REPORTS}/summary", params=params, headers=tenant.headers)
    )
    return body


async def test_the_scripted_hour_gives_the_hand_computed_figures(
    client: httpx.AsyncClient, tenant: Tenant, day: Day
) -> None:
    report = await _summary(client, tenant, **_period(day))
    total = report["total"]
    assert (total["offered"], total["answered"], total["abandoned"]) == (6, 4, 2)
    assert total["abandonment_rate"] == pytest.approx(2 / 6)
    # waits 10, 30, 5, 15: three within 20 s; C left after 45 s (late), D after 10 s (early)
    assert total["service_level"] == pytest.approx(3 / (4 + 1))
    assert total["service_level_abandon_inclusive"] == pytest.approx(3 / 6)
    assert total["asa_s"] == pytest.approx((10 + 30 + 5 + 15) / 4)
    assert total["first_response_s_median"] == pytest.approx((20 + 30) / 2)  # 15, 20, 30, 70
    assert total["first_response_s_p90"] == pytest.approx(70)
    assert total["resolution_s_median"] == pytest.approx((200 + 300) / 2)  # 100, 200, 300, 300
    assert total["resolution_s_p90"] == pytest.approx(300)
    assert total["handle_s"] == pytest.approx((350 + 220 + 155 + 345) / 4)
    assert total["wrap_s"] == pytest.approx(60)
    assert total["transfers_per_contact"] == pytest.approx(1 / 4)
    assert total["fcr_rate"] == pytest.approx(2 / 4)  # A reopened, B transferred
    assert (total["csat"], total["csat_satisfied_rate"], total["csat_responses"]) == (5, 1, 1)
    assert (total["nps"], total["nps_responses"]) == (None, 0)
    assert total["occupancy"] == pytest.approx((505 + 565) / (1480 + 1070))
    assert total["utilisation"] == pytest.approx((505 + 565) / (1480 + 1070))
    assert total["contacts_per_agent_day"] == pytest.approx(4 / 2)


async def test_grouped_by_agent_and_by_channel(
    client: httpx.AsyncClient, tenant: Tenant, day: Day
) -> None:
    by_agent = await _summary(client, tenant, **_period(day, group_by="agent"))
    rows = {row["label"]: row["metrics"] for row in by_agent["rows"]}
    assert set(rows) == {"Ann", "Bob", "(none)"}
    assert {r["key"] for r in by_agent["rows"]} == {str(day.ann.id), str(day.bob.id), "(none)"}
    assert rows["Ann"]["answered"] == 2  # A and E
    assert rows["Ann"]["asa_s"] == pytest.approx((10 + 5) / 2)
    assert rows["Ann"]["occupancy"] == pytest.approx(505 / 1480)
    assert rows["Bob"]["answered"] == 2  # B (after Ann's transfer) and F
    assert rows["Bob"]["transfers_per_contact"] == pytest.approx(1 / 2)
    assert rows["Bob"]["occupancy"] == pytest.approx(565 / 1070)
    assert (rows["(none)"]["offered"], rows["(none)"]["abandoned"]) == (2, 2)

    by_channel = await _summary(client, tenant, **_period(day, group_by="channel"))
    channels = {row["key"]: row["metrics"] for row in by_channel["rows"]}
    assert {k: v["offered"] for k, v in channels.items()} == {"api": 5, "webchat": 1}
    assert channels["webchat"]["csat"] == 5
    assert channels["api"]["occupancy"] is None  # agents' time is not split by channel
    assert by_channel["total"] == (await _summary(client, tenant, **_period(day)))["total"]

    by_hour = await _summary(client, tenant, **_period(day, group_by="hour", tz="Europe/Paris"))
    [hour] = by_hour["rows"]
    assert hour["key"] == "10:00"  # 09:00 UTC in Paris in January
    assert hour["metrics"]["occupancy"] == pytest.approx((505 + 565) / (1480 + 1070))


async def test_the_csv_holds_the_same_table(
    client: httpx.AsyncClient, tenant: Tenant, day: Day
) -> None:
    params = _period(day, group_by="agent")
    report = await _summary(client, tenant, **params)
    response = await client.get(
        f"{REPORTS}/summary", params=params, headers={**tenant.headers, "Accept": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(response.text)))
    as_json = [(r["key"], r["label"], r["metrics"]) for r in report["rows"]]
    as_json.append(("total", "Total", report["total"]))
    assert len(lines) == len(as_json)
    for line, (key, label, metrics) in zip(lines, as_json, strict=True):
        assert (line["group_by"], line["key"], line["label"]) == ("agent", key, label)
        for name in FIELDS:
            value = metrics[name]
            assert (float(line[name]) if line[name] else None) == value, name
    same = await client.get(
        f"{REPORTS}/summary", params={**params, "format": "csv"}, headers=tenant.headers
    )
    assert same.text == response.text


async def test_arrivals_per_interval_and_a_forecast_beside_them(
    client: httpx.AsyncClient,
    tenant: Tenant,
    day: Day,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = {
        "from": day.start.isoformat(),
        "to": (day.start + timedelta(hours=1)).isoformat(),
        "interval": 900,
    }
    arrivals = ok(await client.get(f"{REPORTS}/arrivals", params=params, headers=tenant.headers))
    # A at 0 s, B 400, C 700, D 750 in the first quarter hour; E 900, F 1200 in the second
    assert [r["contacts"] for r in arrivals["rows"]] == [4, 2, 0, 0]

    # A day of history ending at 10:00, forecast for the day after, seasonal naive: the
    # 09:00-10:00 intervals repeat; today's actuals are known up to now (10:30).
    history = {
        "from": (day.start - timedelta(hours=23)).isoformat(),
        "to": (day.start + timedelta(hours=1)).isoformat(),
        "interval": 900,
        "method": "seasonal-naive",
    }
    forecast = ok(await client.get(f"{REPORTS}/forecast", params=history, headers=tenant.headers))
    assert forecast["season_intervals"] == 96
    rows = forecast["rows"]
    assert len(rows) == 96
    assert [r["forecast"] for r in rows[-4:]] == [4, 2, 0, 0]  # 09:00-10:00 tomorrow
    assert rows[0]["actual"] == 0  # 10:00-10:15 today: over, nobody wrote
    assert rows[2]["actual"] is None  # 10:30-10:45: not over yet

    # The command line reads the same history from the database.
    monkeypatch.setenv("OMNIDESK_DATABASE_URL", database_url)
    args = ["erlang", "forecast", "--account", str(tenant.account_id), "--json"]
    args += ["--from", history["from"], "--to", history["to"], "--interval", "900"]
    result = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert [i["calls"] for i in printed["intervals"]] == [r["forecast"] for r in rows]


async def test_bad_inputs_are_refused_with_their_field(
    client: httpx.AsyncClient, tenant: Tenant, frozen: FrozenClock
) -> None:
    now = frozen.now()
    good = {"from": now.isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
    cases: list[tuple[dict[str, Any], str]] = [
        ({**good, "from": "yesterday"}, "from"),
        ({**good, "from": "2026-01-05T09:00:00"}, "from"),  # no offset
        ({"to": good["to"]}, "from"),
        ({**good, "to": good["from"]}, "to"),
        ({**good, "to": (now + timedelta(days=94)).isoformat()}, "to"),
        ({**good, "group_by": "weekday"}, "group_by"),
        ({**good, "threshold_s": -1}, "threshold_s"),
        ({**good, "threshold_s": "soon"}, "threshold_s"),
        ({**good, "tz": "Mars/Olympus"}, "tz"),
        ({**good, "tz": "Europe"}, "tz"),
        ({**good, "from": "0001-01-01T00:00:00+05:00"}, "from"),
        ({**good, "format": "xml"}, "format"),
    ]
    for params, field in cases:
        refused(
            await client.get(f"{REPORTS}/summary", params=params, headers=tenant.headers),
            422,
            field,
        )
    for params, field in [
        ({**good, "interval": 7}, "interval"),
        ({**good, "interval": "x"}, "interval"),
        ({**good, "to": (now + timedelta(days=367)).isoformat()}, "to"),
    ]:
        refused(
            await client.get(f"{REPORTS}/arrivals", params=params, headers=tenant.headers),
            422,
            field,
        )
    for params, field in [
        ({**good, "method": "magic"}, "method"),
        ({**good, "days": 0}, "days"),
        ({**good, "method": "ets"}, "history"),  # one hour is not two days
    ]:
        refused(
            await client.get(f"{REPORTS}/forecast", params=params, headers=tenant.headers),
            422,
            field,
        )


async def test_agents_may_not_read_reports_and_supervisors_may(
    client: httpx.AsyncClient, tenant: Tenant, frozen: FrozenClock
) -> None:
    now = frozen.now()
    period = {"from": now.isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
    _, agent = await make_user(client, tenant, "agent")
    _, supervisor = await make_user(client, tenant, "supervisor")
    for path in ("summary", "arrivals", "forecast"):
        refused(await client.get(f"{REPORTS}/{path}", params=period, headers=agent), 403)
    ok(await client.get(f"{REPORTS}/summary", params=period, headers=supervisor))
    assert (await client.get(f"{REPORTS}/summary", params=period)).status_code == 401


async def test_another_accounts_contacts_are_never_counted(
    client: httpx.AsyncClient, app: FastAPI, tenant: Tenant, day: Day, db: Database
) -> None:
    other = await make_tenant(db, "Globex")
    theirs = Desk(client, app, other)
    await theirs.open()
    await theirs.customer_writes("ada@example.com")
    # Their contact arrives at 10:30: inside a period that covers the morning.
    period = {
        "from": day.start.isoformat(),
        "to": (day.start + timedelta(hours=2)).isoformat(),
    }
    mine = await _summary(client, tenant, **period)
    assert mine["total"]["offered"] == 6
    assert (await _summary(client, other, **period))["total"]["offered"] == 1
    by_agent = await _summary(client, other, **period, group_by="agent")
    assert [r["key"] for r in by_agent["rows"]] == ["(none)"]
    arrivals = ok(
        await client.get(
            f"{REPORTS}/arrivals", params={**period, "interval": 3600}, headers=other.headers
        )
    )
    assert [r["contacts"] for r in arrivals["rows"]] == [0, 1]
