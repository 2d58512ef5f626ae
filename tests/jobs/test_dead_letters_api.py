"""GET /api/v1/jobs and POST /api/v1/jobs/{id}/retry: the admins' dead-letter queue."""

from __future__ import annotations

import httpx
from sqlalchemy import select, update

from omnidesk.events.models import Event
from omnidesk.jobs.models import Job
from omnidesk.kit.clock import FrozenClock
from omnidesk.kit.db import Database
from omnidesk.kit.pagination import encode_cursor
from tests.conftest import Tenant, make_user
from tests.jobs.conftest import add_job


async def _dead(db: Database, clock: FrozenClock, key: str, account_id: int) -> int:
    job_id = await add_job(db, clock, key, account_id=account_id)
    async with db.transaction() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status="dead", attempts=8, last_error="boom", finished_at=clock.now())
        )
    return job_id


async def test_admins_page_through_their_dead_jobs(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    db: Database,
    frozen: FrozenClock,
) -> None:
    mine = [await _dead(db, frozen, f"mine-{n}", tenant.account_id) for n in range(5)]
    await _dead(db, frozen, "theirs", other_tenant.account_id)
    await add_job(db, frozen, "pending", account_id=tenant.account_id)

    seen: list[int] = []
    cursor = None
    for _ in range(5):
        params: dict[str, str | int] = {"status": "dead", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await client.get("/api/v1/jobs", params=params, headers=tenant.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert all(item["status"] == "dead" for item in body["items"])
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(mine, reverse=True)

    everything = await client.get("/api/v1/jobs", headers=tenant.headers)
    assert len(everything.json()["items"]) == 6
    first = everything.json()["items"][-1]
    assert first["last_error"] == "boom"
    assert first["kind"] == "test.work"


async def test_the_list_is_for_admins_and_checks_its_parameters(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    _, supervisor = await make_user(client, tenant, "supervisor")
    assert (await client.get("/api/v1/jobs", headers=supervisor)).status_code == 403
    bad_status = await client.get("/api/v1/jobs?status=zombie", headers=tenant.headers)
    assert bad_status.status_code == 422
    assert bad_status.json()["field"] == "status"
    bad_cursor = await client.get("/api/v1/jobs?cursor=%%%", headers=tenant.headers)
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["field"] == "cursor"


async def test_retry_makes_a_dead_job_due_now_with_fresh_attempts(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, frozen: FrozenClock
) -> None:
    job_id = await _dead(db, frozen, "a", tenant.account_id)
    frozen.advance(600)
    response = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["attempts"], body["finished_at"]) == ("pending", 0, None)
    async with db.sessionmaker() as session:
        job = await session.get(Job, job_id)
        event = await session.scalar(select(Event).where(Event.type == "job.retried"))
    assert job is not None
    assert (job.status, job.attempts, job.due_at) == ("pending", 0, frozen.now())
    assert event is not None
    assert event.audience == "supervisors"
    assert event.actor_user_id == tenant.admin_id

    again = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=tenant.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


async def test_another_accounts_job_is_404_and_agents_are_403(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    db: Database,
    frozen: FrozenClock,
) -> None:
    job_id = await _dead(db, frozen, "a", tenant.account_id)
    other = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=other_tenant.headers)
    assert other.status_code == 404
    assert other.json() == {"code": "not_found", "message": "job not found", "field": None}
    _, agent = await make_user(client, tenant, "agent")
    assert (await client.post(f"/api/v1/jobs/{job_id}/retry", headers=agent)).status_code == 403
    async with db.sessionmaker() as session:
        job = await session.get(Job, job_id)
    assert job is not None
    assert job.status == "dead"


async def test_ids_beyond_64_bits_are_refused_not_500(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    retry = await client.post(f"/api/v1/jobs/{2**64}/retry", headers=tenant.headers)
    assert retry.status_code == 422
    assert retry.json()["field"] == "job_id"
    cursor = encode_cursor(2**64, 2**64)
    listed = await client.get(f"/api/v1/jobs?cursor={cursor}", headers=tenant.headers)
    assert listed.status_code == 400
    assert listed.json()["field"] == "cursor"
