from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from omnidesk.kit.errors import ValidationFailed
from omnidesk.kit.types import RowId
from omnidesk.sla import service
from omnidesk.sla.schemas import SlaPolicyCreate, SlaPolicyOut, SlaPolicyUpdate, SlaReport
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/sla", tags=["sla"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such SLA policy in the caller's account"}
}
DEFINITION = (
    "Targets are business seconds (at least 60) per priority for the first response, each "
    "next response and the resolution, counted in the policy's business-hours calendar "
    "(none: around the clock). A definition that cannot work is refused with a 4xx naming "
    "the field: no target at all, an unknown calendar, inbox or channel type, a calendar "
    "that never opens, both warning settings, or a warning before the start of a target. "
    "See docs/sla.md."
)


@router.get(
    "/policies",
    summary="SLA policies, in the order they are tried",
    description="The first active policy whose conditions match a conversation applies.",
)
async def list_policies(principal: PrincipalDep, session: SessionDep) -> list[SlaPolicyOut]:
    return [service.policy_out(p) for p in await service.list_policies(session, principal)]


@router.post(
    "/policies",
    status_code=status.HTTP_201_CREATED,
    summary="Create an SLA policy (admin)",
    description=DEFINITION,
)
async def create_policy(
    body: SlaPolicyCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> SlaPolicyOut:
    return service.policy_out(await service.create_policy(session, clock, principal, body))


@router.get("/policies/{policy_id}", summary="One SLA policy", responses=NOT_FOUND)
async def get_policy(
    policy_id: RowId, principal: PrincipalDep, session: SessionDep
) -> SlaPolicyOut:
    return service.policy_out(await service.get_policy(session, principal, policy_id))


@router.patch(
    "/policies/{policy_id}",
    summary="Change an SLA policy (admin)",
    description=DEFINITION
    + " Changes apply to targets that start, or are re-evaluated (a priority change), later. "
    "Giving `warning_percent` or `warning_before_s` replaces the warning as a whole.",
    responses=NOT_FOUND,
)
async def update_policy(
    policy_id: RowId,
    body: SlaPolicyUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> SlaPolicyOut:
    policy = await service.update_policy(session, clock, principal, policy_id, body)
    return service.policy_out(policy)


@router.delete(
    "/policies/{policy_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an SLA policy and its targets' history (admin)",
    description="To stop applying a policy but keep its history, set `active` to false.",
    responses=NOT_FOUND,
)
async def delete_policy(
    policy_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.delete_policy(session, clock, principal, policy_id)


@router.get(
    "/policies/{policy_id}/report",
    summary="Achieved-% per target kind of an SLA policy",
    description="Counts the policy's targets started in `[since, until)` (by default the "
    "last 30 days): met on time, breached (met late or not at all) and still running; "
    "`achieved_percent` is of those finished.",
    responses=NOT_FOUND,
)
async def policy_report(
    policy_id: RowId,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    since: Annotated[
        datetime | None,
        Query(description="With a timezone, e.g. 2026-01-01T00:00:00Z; default: until - 30 days"),
    ] = None,
    until: Annotated[
        datetime | None, Query(description="With a timezone; after since; default: now")
    ] = None,
) -> SlaReport:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed("give a timezone (e.g. 2026-01-05T09:00:00Z)", field=name)
    end = until or clock.now()
    start = since or end - timedelta(days=30)
    return await service.report(session, principal, policy_id, start, end)
