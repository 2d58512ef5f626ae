from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from omnidesk.categorisation import repository as repo
from omnidesk.categorisation import service
from omnidesk.categorisation.schemas import CategoryRuleCreate, CategoryRuleOut, CategoryRuleUpdate
from omnidesk.kit.types import RowId
from omnidesk.web.auth import PrincipalDep
from omnidesk.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["categorisation"])

RuleId = Annotated[RowId, Path(description="The category rule's id.")]
WRITE = (
    " Admins only (403 otherwise). Refused with a 422 on the field: neither keywords nor a "
    "pattern (or both), a pattern that does not compile or may backtrack catastrophically, "
    "no tag and no field, a field that is not a conversation field or a value not of its type."
)


@router.get(
    "/category-rules",
    summary="List auto-categorisation rules, in the order they run",
)
async def list_rules(principal: PrincipalDep, session: SessionDep) -> list[CategoryRuleOut]:
    return [
        CategoryRuleOut.model_validate(r)
        for r in await repo.list_rules(session, principal.account_id)
    ]


@router.post(
    "/category-rules",
    status_code=status.HTTP_201_CREATED,
    summary="Create an auto-categorisation rule (admin)",
    description="Keywords or a regular expression found in a customer's message (or the "
    "conversation's subject) tag the conversation and/or fill in one of its fields." + WRITE,
)
async def create_rule(
    body: CategoryRuleCreate, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> CategoryRuleOut:
    rule = await service.create_rule(session, clock, principal, body)
    return CategoryRuleOut.model_validate(rule)


@router.get("/category-rules/{category_rule_id}", summary="One auto-categorisation rule")
async def get_rule(
    category_rule_id: RuleId, principal: PrincipalDep, session: SessionDep
) -> CategoryRuleOut:
    return CategoryRuleOut.model_validate(
        await service.get_rule(session, principal, category_rule_id)
    )


@router.patch(
    "/category-rules/{category_rule_id}",
    summary="Change an auto-categorisation rule (admin)",
    description="Only the given keys change; the rule as a whole is checked again." + WRITE,
)
async def update_rule(
    category_rule_id: RuleId,
    body: CategoryRuleUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    clock: ClockDep,
) -> CategoryRuleOut:
    rule = await service.update_rule(session, clock, principal, category_rule_id, body)
    return CategoryRuleOut.model_validate(rule)


@router.delete(
    "/category-rules/{category_rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an auto-categorisation rule (admin)",
)
async def delete_rule(
    category_rule_id: RuleId, principal: PrincipalDep, session: SessionDep, clock: ClockDep
) -> None:
    await service.delete_rule(session, clock, principal, category_rule_id)
