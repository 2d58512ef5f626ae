"""The routing configuration API: calendars, skills, profiles, queues, rules, presence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime

from omnidesk.kit.errors import ValidationFailed
from omnidesk.kit.types import RowId
from omnidesk.routing import hours, service, stats, work
from omnidesk.routing import repository as repo
from omnidesk.routing.models import BusinessHours, Offer, Queue, RoutingRule, WorkItem
from omnidesk.routing.schemas import (
    AgentOut,
    AgentProfileSet,
    AgentSkillsSet,
    AwayReasonCreate,
    AwayReasonOut,
    BusinessHoursCreate,
    BusinessHoursOut,
    BusinessHoursStatus,
    BusinessHoursUpdate,
    ChannelsOut,
    ConfigWarning,
    OfferDecline,
    OfferOut,
    PresenceSet,
    ProfileCreate,
    ProfileOut,
    ProfileUpdate,
    QueueCreate,
    QueueOut,
    QueueUpdate,
    RoutingFacts,
    RoutingStats,
    RoutingTargetOut,
    RuleCreate,
    RuleOut,
    RulesReorder,
    RuleUpdate,
    SkillCreate,
    SkillOut,
    SkillRequirementOut,
    SkillUpdate,
    TransferCreate,
    TransferOut,
)
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/routing", tags=["routing"])

ADMIN = "Admins only."
EVERYONE = "Any user of the account."


def _hours_out(calendar: BusinessHours) -> BusinessHoursOut:
    return BusinessHoursOut.model_validate(
        {
            "id": calendar.id,
            "name": calendar.name,
            "timezone": calendar.timezone,
            "weekly": calendar.weekly,
            "holidays": calendar.holidays,
            "created_at": calendar.created_at,
            "updated_at": calendar.updated_at,
        }
    )


def _queue_out(queue: Queue, warnings: list[ConfigWarning]) -> QueueOut:
    return QueueOut.model_validate(
        {
            **{c.key: getattr(queue, c.key) for c in Queue.__table__.columns},
            "warnings": warnings,
        }
    )


async def _queues_out(
    session: SessionDep, principal: PrincipalDep, queues: Sequence[Queue]
) -> list[QueueOut]:
    warnings = await service.queue_warnings(session, principal, queues)
    return [_queue_out(q, warnings[q.id]) for q in queues]


def _rule_out(rule: RoutingRule) -> RuleOut:
    return RuleOut.model_validate(
        {c.key: getattr(rule, c.key) for c in RoutingRule.__table__.columns}
    )


# Channels -------------------------------------------------------------------------------


@router.get(
    "/channels",
    summary="Channel names that capacities and rules may use",
    description=EVERYONE,
)
async def list_channels(principal: PrincipalDep) -> ChannelsOut:
    return ChannelsOut(channels=service.known_channels())


# Business hours -------------------------------------------------------------------------


@router.get(
    "/business-hours",
    summary="List business-hours calendars",
    description=EVERYONE,
)
async def list_business_hours(
    principal: PrincipalDep, session: SessionDep
) -> list[BusinessHoursOut]:
    return [_hours_out(c) for c in await service.list_business_hours(session, principal)]


@router.post(
    "/business-hours",
    status_code=status.HTTP_201_CREATED,
    summary="Create a business-hours calendar (admin)",
    description="Weekly opening intervals per weekday in an IANA timezone (several a day; "
    "`HH:MM`, an interval may not cross midnight: use two), and holidays (a date or a "
    "range, closed or open on intervals of their own). " + ADMIN,
)
async def create_business_hours(
    body: BusinessHoursCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> BusinessHoursOut:
    return _hours_out(await service.create_business_hours(session, clock, principal, body))


@router.get(
    "/business-hours/{business_hours_id}",
    summary="One business-hours calendar",
    description=EVERYONE,
)
async def get_business_hours(
    business_hours_id: RowId, principal: PrincipalDep, session: SessionDep
) -> BusinessHoursOut:
    return _hours_out(await service.get_business_hours(session, principal, business_hours_id))


@router.patch(
    "/business-hours/{business_hours_id}",
    summary="Change a business-hours calendar (admin)",
    description="Given weekly hours or holidays replace the stored ones. " + ADMIN,
)
async def update_business_hours(
    business_hours_id: RowId,
    body: BusinessHoursUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> BusinessHoursOut:
    calendar = await service.update_business_hours(
        session, clock, principal, business_hours_id, body
    )
    return _hours_out(calendar)


@router.delete(
    "/business-hours/{business_hours_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a business-hours calendar (admin)",
    description="Refused (409) while a queue uses it. " + ADMIN,
)
async def delete_business_hours(
    business_hours_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.delete_business_hours(session, clock, principal, business_hours_id)


@router.get(
    "/business-hours/{business_hours_id}/status",
    summary="Whether a calendar is open at a moment, and when that next changes",
    description="`at` defaults to now. " + EVERYONE,
)
async def business_hours_status(
    business_hours_id: RowId,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    at: Annotated[
        AwareDatetime | None, Query(description="An ISO 8601 moment with its offset.")
    ] = None,
) -> BusinessHoursStatus:
    calendar = await service.get_business_hours(session, principal, business_hours_id)
    moment = at or clock.now()
    if not hours.MIN_YEAR <= moment.year <= hours.MAX_YEAR:
        raise ValidationFailed(
            f"at must lie between the years {hours.MIN_YEAR} and {hours.MAX_YEAR}", field="at"
        )
    schedule = service.schedule_of(calendar)
    return BusinessHoursStatus(
        at=moment,
        open=schedule.is_open(moment),
        next_open=schedule.next_open(moment),
        next_close=schedule.next_close(moment),
    )


# Skills ---------------------------------------------------------------------------------


@router.get("/skills", summary="List skills", description=EVERYONE)
async def list_skills(principal: PrincipalDep, session: SessionDep) -> list[SkillOut]:
    return [SkillOut.model_validate(s) for s in await service.list_skills(session, principal)]


@router.post(
    "/skills",
    status_code=status.HTTP_201_CREATED,
    summary="Create a skill (admin)",
    description="Names are unique in the account. " + ADMIN,
)
async def create_skill(
    body: SkillCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> SkillOut:
    return SkillOut.model_validate(await service.create_skill(session, clock, principal, body))


@router.get("/skills/{skill_id}", summary="One skill", description=EVERYONE)
async def get_skill(skill_id: RowId, principal: PrincipalDep, session: SessionDep) -> SkillOut:
    return SkillOut.model_validate(await service.get_skill(session, principal, skill_id))


@router.patch("/skills/{skill_id}", summary="Change a skill (admin)", description=ADMIN)
async def update_skill(
    skill_id: RowId,
    body: SkillUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> SkillOut:
    skill = await service.update_skill(session, clock, principal, skill_id, body)
    return SkillOut.model_validate(skill)


@router.delete(
    "/skills/{skill_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a skill (admin)",
    description="Agents lose it; refused (409) while a queue or rule requires it. " + ADMIN,
)
async def delete_skill(
    skill_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.delete_skill(session, clock, principal, skill_id)


# Routing profiles -----------------------------------------------------------------------


@router.get(
    "/profiles",
    summary="List routing profiles",
    description="The account's default profile is created on first need. " + EVERYONE,
)
async def list_profiles(
    principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> list[ProfileOut]:
    profiles = await service.list_profiles(session, clock, principal)
    return [ProfileOut.model_validate(p) for p in profiles]


@router.post(
    "/profiles",
    status_code=status.HTTP_201_CREATED,
    summary="Create a routing profile (admin)",
    description="Capacity per channel, exclusive channels, auto-accept. The account's "
    "first profile becomes its default. " + ADMIN,
)
async def create_profile(
    body: ProfileCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> ProfileOut:
    return ProfileOut.model_validate(await service.create_profile(session, clock, principal, body))


@router.get("/profiles/{profile_id}", summary="One routing profile", description=EVERYONE)
async def get_profile(
    profile_id: RowId, principal: PrincipalDep, session: SessionDep
) -> ProfileOut:
    return ProfileOut.model_validate(await service.get_profile(session, principal, profile_id))


@router.patch(
    "/profiles/{profile_id}", summary="Change a routing profile (admin)", description=ADMIN
)
async def update_profile(
    profile_id: RowId,
    body: ProfileUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> ProfileOut:
    profile = await service.update_profile(session, clock, principal, profile_id, body)
    return ProfileOut.model_validate(profile)


@router.delete(
    "/profiles/{profile_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a routing profile (admin)",
    description="Its agents fall back to the default profile; the default itself cannot be "
    "deleted (409). " + ADMIN,
)
async def delete_profile(
    profile_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.delete_profile(session, clock, principal, profile_id)


# Queues ---------------------------------------------------------------------------------


@router.get(
    "/queues",
    summary="List queues",
    description="The account's default queue is created on first need. Each queue carries "
    "its `warnings`. " + EVERYONE,
)
async def list_queues(
    principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> list[QueueOut]:
    return await _queues_out(
        session, principal, await service.list_queues(session, clock, principal)
    )


@router.post(
    "/queues",
    status_code=status.HTTP_201_CREATED,
    summary="Create a queue (admin)",
    description="The account's first queue becomes its default. A queue whose required "
    "skills no agent has is created, with a `no_eligible_agents` warning. " + ADMIN,
)
async def create_queue(
    body: QueueCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> QueueOut:
    queue = await service.create_queue(session, clock, principal, body)
    return (await _queues_out(session, principal, [queue]))[0]


@router.get("/queues/{queue_id}", summary="One queue", description=EVERYONE)
async def get_queue(queue_id: RowId, principal: PrincipalDep, session: SessionDep) -> QueueOut:
    queue = await service.get_queue(session, principal, queue_id)
    return (await _queues_out(session, principal, [queue]))[0]


@router.patch("/queues/{queue_id}", summary="Change a queue (admin)", description=ADMIN)
async def update_queue(
    queue_id: RowId,
    body: QueueUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> QueueOut:
    queue = await service.update_queue(session, clock, principal, queue_id, body)
    return (await _queues_out(session, principal, [queue]))[0]


@router.delete(
    "/queues/{queue_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a queue (admin)",
    description="Refused (409) for the default queue and while a routing rule or another "
    "queue's overflow step names it. " + ADMIN,
)
async def delete_queue(
    queue_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.delete_queue(session, clock, principal, queue_id)


# Routing rules --------------------------------------------------------------------------


@router.get(
    "/rules",
    summary="List routing rules in the order they are tried (supervisor)",
    description="Admins and supervisors.",
)
async def list_rules(principal: PrincipalDep, session: SessionDep) -> list[RuleOut]:
    return [_rule_out(r) for r in await service.list_rules(session, principal)]


@router.post(
    "/rules",
    status_code=status.HTTP_201_CREATED,
    summary="Create a routing rule (admin)",
    description="Conditions (all must match) and where matching work goes. " + ADMIN,
)
async def create_rule(
    body: RuleCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> RuleOut:
    return _rule_out(await service.create_rule(session, clock, principal, body))


@router.post(
    "/rules/reorder",
    summary="Put the routing rules in a new order (admin)",
    description="Name every rule of the account once, first tried first. " + ADMIN,
)
async def reorder_rules(
    body: RulesReorder, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> list[RuleOut]:
    return [_rule_out(r) for r in await service.reorder_rules(session, clock, principal, body)]


@router.post(
    "/rules/test",
    summary="Dry run: where the rules would send work with these facts (admin)",
    description="Nothing is routed or recorded. The first enabled matching rule wins, else "
    "the default queue. " + ADMIN,
)
async def test_rules(
    body: RoutingFacts, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> RoutingTargetOut:
    routed = await service.dry_run(session, clock, principal, body)
    return RoutingTargetOut(
        queue_id=routed.queue.id,
        queue_name=routed.queue.name,
        priority=routed.target.priority,
        extra_skills=[
            SkillRequirementOut(skill_id=s.skill_id, min_level=s.min_level)
            for s in routed.target.extra_skills
        ],
        rule_id=routed.rule.id if routed.rule else None,
        rule_name=routed.rule.name if routed.rule else None,
    )


@router.get(
    "/rules/{rule_id}",
    summary="One routing rule (supervisor)",
    description="Admins and supervisors.",
)
async def get_rule(rule_id: RowId, principal: PrincipalDep, session: SessionDep) -> RuleOut:
    return _rule_out(await service.get_rule(session, principal, rule_id))


@router.patch("/rules/{rule_id}", summary="Change a routing rule (admin)", description=ADMIN)
async def update_rule(
    rule_id: RowId,
    body: RuleUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> RuleOut:
    return _rule_out(await service.update_rule(session, clock, principal, rule_id, body))


@router.delete(
    "/rules/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a routing rule (admin)",
    description=ADMIN,
)
async def delete_rule(
    rule_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.delete_rule(session, clock, principal, rule_id)


# Away reasons ---------------------------------------------------------------------------


@router.get("/away-reasons", summary="List the account's away reasons", description=EVERYONE)
async def list_away_reasons(principal: PrincipalDep, session: SessionDep) -> list[AwayReasonOut]:
    reasons = await service.list_away_reasons(session, principal)
    return [AwayReasonOut.model_validate(r) for r in reasons]


@router.post(
    "/away-reasons",
    status_code=status.HTTP_201_CREATED,
    summary="Add an away reason (admin)",
    description=ADMIN,
)
async def create_away_reason(
    body: AwayReasonCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> AwayReasonOut:
    reason = await service.create_away_reason(session, clock, principal, body)
    return AwayReasonOut.model_validate(reason)


@router.delete(
    "/away-reasons/{reason_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an away reason (admin)",
    description="Agents away for it keep its text. " + ADMIN,
)
async def delete_away_reason(
    reason_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.delete_away_reason(session, clock, principal, reason_id)


# Agents ---------------------------------------------------------------------------------


@router.get(
    "/agents",
    summary="List agents with presence, time in state, routing profile and skills",
    description="Every active user of the account. " + EVERYONE,
)
async def list_agents(
    principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> list[AgentOut]:
    return await service.list_agents(session, clock, principal)


@router.get("/agents/{user_id}", summary="One agent's routing state", description=EVERYONE)
async def get_agent(
    user_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> AgentOut:
    return await service.get_agent(session, clock, principal, user_id)


@router.put(
    "/agents/{user_id}/presence",
    summary="Set an agent's presence",
    description="Agents set their own; supervisors and admins anyone's. The reason is free "
    "text or one of the account's away reasons (`reason_id`).",
)
async def set_presence(
    user_id: RowId,
    body: PresenceSet,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> AgentOut:
    return await service.set_presence(session, clock, principal, user_id, body)


@router.put(
    "/agents/{user_id}/profile",
    summary="Assign an agent's routing profile (admin)",
    description="null: the account's default profile. " + ADMIN,
)
async def set_agent_profile(
    user_id: RowId,
    body: AgentProfileSet,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> AgentOut:
    return await service.set_agent_profile(session, clock, principal, user_id, body)


@router.put(
    "/agents/{user_id}/skills",
    summary="Set an agent's skills and levels (admin)",
    description="Replaces the agent's skills; levels 1 to 10. " + ADMIN,
)
async def set_agent_skills(
    user_id: RowId,
    body: AgentSkillsSet,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> AgentOut:
    return await service.set_agent_skills(session, clock, principal, user_id, body)


# Offers ------------------------------------------------------------------------------------


def _offer_out(offer: Offer, item: WorkItem) -> OfferOut:
    return OfferOut(
        id=offer.id,
        work_item_id=item.id,
        conversation_id=item.conversation_id,
        agent_id=offer.agent_id,
        channel=item.channel,
        queue_id=item.queue_id,
        status=offer.status,
        reason=offer.reason,
        created_at=offer.created_at,
        expires_at=offer.expires_at,
        decided_at=offer.decided_at,
    )


@router.get(
    "/offers",
    summary="Pending offers",
    description="The caller's pending offers; supervisors and admins see every agent's.",
)
async def list_offers(principal: PrincipalDep, session: SessionDep) -> list[OfferOut]:
    return [_offer_out(o, i) for o, i in await repo.list_offers(session, principal)]


@router.post(
    "/offers/{offer_id}/accept",
    summary="Accept an offer",
    description="The conversation is assigned to the caller. Only the agent the offer was made "
    "to may answer it; an offer that timed out, was withdrawn or answered gives 409.",
)
async def accept_offer(
    offer_id: RowId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> OfferOut:
    return _offer_out(*await work.accept(session, clock, principal, offer_id))


@router.post(
    "/offers/{offer_id}/decline",
    summary="Decline an offer",
    description="The router offers the conversation to someone else. Only the agent the offer "
    "was made to may answer it; an offer that timed out, was withdrawn or answered gives 409.",
)
async def decline_offer(
    offer_id: RowId,
    body: OfferDecline,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> OfferOut:
    return _offer_out(*await work.decline(session, clock, principal, offer_id, body.reason))


@router.get(
    "/stats",
    summary="Live queue and agent statistics",
    description="Per queue: waiting now, oldest wait, answered, abandoned, service level "
    "(classic and abandon-inclusive) and ASA since `since` (default: the last 24 hours); agents "
    "by presence with the longest time in state. Supervisors and admins.",
)
async def live_stats(
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
    since: Annotated[AwareDatetime | None, Query()] = None,
    threshold_s: Annotated[float, Query(gt=0, le=86_400)] = 20.0,
) -> RoutingStats:
    principal.require("admin", "supervisor")
    start = since or clock.now() - timedelta(days=1)
    return await stats.live(session, clock, principal.account_id, start, threshold_s)


@router.post(
    "/transfers",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Transfer a conversation to a queue or an agent",
    description="By the conversation's agent or a supervisor. The router moves the work at "
    "once (its waiting time is kept and the transfer counted); the conversation leaves the "
    "agent who held it. 409 when the conversation is not in routing or already moving.",
)
async def transfer(
    body: TransferCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> TransferOut:
    item = await work.request_transfer(
        session,
        clock,
        principal,
        body.conversation_id,
        to_queue_id=body.to_queue_id,
        to_agent_id=body.to_agent_id,
        note=body.note,
    )
    return TransferOut(
        work_item_id=item.id,
        conversation_id=item.conversation_id,
        to_queue_id=body.to_queue_id,
        to_agent_id=body.to_agent_id,
        note=body.note,
    )
