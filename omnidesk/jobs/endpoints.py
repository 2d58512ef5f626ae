"""The dead-letter queue for admins: see what could not be done, and try it again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from omnidesk.events import service as events
from omnidesk.jobs import outbox
from omnidesk.jobs import repository as repo
from omnidesk.jobs.schemas import JobOut, JobStatus
from omnidesk.kit.errors import BadRequest, Conflict, NotFound
from omnidesk.kit.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from omnidesk.kit.types import MAX_ROW_ID, RowId
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@router.get("", summary="List the account's background jobs, newest first (admin)")
async def list_jobs(
    principal: PrincipalDep,
    session: SessionDep,
    status: JobStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Page[JobOut]:
    principal.require("admin")
    after = decode_cursor(cursor)
    if after is not None and not 1 <= after.id <= MAX_ROW_ID:
        raise BadRequest("cursor is not valid", field="cursor")
    rows = await repo.list_jobs(
        session,
        principal.account_id,
        status=status,
        before_id=after.id if after else None,
        limit=limit + 1,
    )
    items = [JobOut.model_validate(job) for job in rows[:limit]]
    more = len(rows) > limit
    return Page(
        items=items, next_cursor=encode_cursor(items[-1].id, items[-1].id) if more else None
    )


@router.post(
    "/{job_id}/retry",
    summary="Try a dead job again from scratch: pending, due now, attempts reset (admin)",
    responses={
        404: {"description": "No such job in this account"},
        409: {"description": "Not dead"},
    },
)
async def retry_job(
    job_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> JobOut:
    principal.require("admin")
    job = await repo.get_job(session, principal.account_id, job_id)
    if job is None:
        raise NotFound("job")
    if job.status != "dead":
        raise Conflict(f"only dead jobs can be retried; this one is {job.status}", field="status")
    outbox.requeue(session, clock, job)
    await events.record(
        session,
        account_id=principal.account_id,
        type="job.retried",
        audience="supervisors",
        actor_user_id=principal.user_id,
        data={"job_id": job.id, "kind": job.kind},
        clock=clock,
    )
    return JobOut.model_validate(job)
