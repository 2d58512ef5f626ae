"""What rules and macros do: an ordered list of actions, checked once and run through the
contexts' own services (conversations, routing, the outbox), never around them.

An action is JSON ``{"type": ..., <parameters>}``; :data:`ACTIONS` lists them. ``compile_actions``
checks the shapes (pure); ``check_references`` checks that every id names a row of the same
account; ``execute`` runs them on one conversation on behalf of a principal: the system
(for a rule, whose events then carry the rule as their cause) or an agent (for a macro).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.accounts import repository as accounts_repo
from omnidesk.accounts.principal import Principal
from omnidesk.automation import repository as repo
from omnidesk.automation import service, templates
from omnidesk.automation.models import Macro
from omnidesk.channels import ssrf
from omnidesk.conversations import repository as conversations_repo
from omnidesk.conversations import service as conversations
from omnidesk.conversations.models import Conversation
from omnidesk.conversations.schemas import ConversationUpdate, MessageCreate
from omnidesk.conversations.vocabulary import PRIORITIES, STATUSES
from omnidesk.jobs import outbox
from omnidesk.kit.clock import Clock
from omnidesk.kit.errors import ValidationFailed
from omnidesk.routing import repository as routing_repo
from omnidesk.routing import work
from omnidesk.routing.models import Queue

WEBHOOK_JOB = "automation.webhook"
MAX_ACTIONS = 20
MAX_BODY_CHARS = 10_000
MAX_TAGS = 50
#: Snoozing is for at most a year.
MAX_SNOOZE_MINUTES = 525_600
_TAG = re.compile(r"[^\s,]{1,64}")

#: Every action: its parameters and what it does (also served to the rule editor).
ACTIONS: dict[str, str] = {
    "set_status": "status: open, pending, resolved or closed",
    "set_priority": "priority: low, normal, high or urgent",
    "add_tags": "tags: a list of tags to add",
    "remove_tags": "tags: a list of tags to remove",
    "set_custom_fields": "fields: an object merged into the conversation's custom fields",
    "snooze": "minutes: snooze the conversation for that long (it reopens by itself)",
    "assign_team": "team_id: a team of the account, or null to remove the team",
    "assign_agent": "user_id: an active user of the account, or null to unassign",
    "put_in_queue": "queue_id: transfer the conversation's work to that queue (it must be in "
    "routing)",
    "add_note": "body: an internal note; variables such as {{contact.first_name}} are filled in",
    "send_reply": "body or canned_response_id: a reply to the customer through the "
    "conversation's channel (email, chat…), variables filled in",
    "call_webhook": "url: POST the conversation as JSON to that URL (through the outbox, "
    "retried, public addresses only)",
    "apply_macro": "macro_id: run a shared macro's actions",
}
_PARAMS: dict[str, frozenset[str]] = {
    "set_status": frozenset({"status"}),
    "set_priority": frozenset({"priority"}),
    "add_tags": frozenset({"tags"}),
    "remove_tags": frozenset({"tags"}),
    "set_custom_fields": frozenset({"fields"}),
    "snooze": frozenset({"minutes"}),
    "assign_team": frozenset({"team_id"}),
    "assign_agent": frozenset({"user_id"}),
    "put_in_queue": frozenset({"queue_id"}),
    "add_note": frozenset({"body"}),
    "send_reply": frozenset({"body", "canned_response_id"}),
    "call_webhook": frozenset({"url"}),
    "apply_macro": frozenset({"macro_id"}),
}


@dataclass(frozen=True)
class Action:
    type: str
    params: Mapping[str, Any]
    #: Where it was in the definition (``actions.2``), for errors.
    path: str


def _fail(message: str, path: str) -> ValidationFailed:
    return ValidationFailed(message, field=path)


def _id(value: Any, path: str, *, nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _fail("an id is a positive integer" + (" or null" if nullable else ""), path)
    return value


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail("a non-empty text", path)
    if len(value) > MAX_BODY_CHARS:
        raise _fail(f"at most {MAX_BODY_CHARS} characters", path)
    unknown = templates.unknown_variables(value)
    if unknown:
        raise _fail("unknown variables: " + ", ".join("{{" + n + "}}" for n in unknown), path)
    return value


def _tags(value: Any, path: str) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_TAGS:
        raise _fail(f"a list of 1 to {MAX_TAGS} tags", path)
    tags = []
    for i, tag in enumerate(value):
        if not isinstance(tag, str) or not _TAG.fullmatch(tag.strip()):
            raise _fail("a tag is 1-64 characters without spaces or commas", f"{path}.{i}")
        tags.append(tag.strip().lower())
    return sorted(set(tags))


def compile_actions(
    raw: Any, *, path: str = "actions", allow_macros: bool = True, allow_private: bool = False
) -> list[Action]:
    """Check an action list's shape; ValidationFailed names the bad part (``actions.1.tags``).

    ``allow_macros`` is False inside a macro: a macro never applies another, so applying one
    always ends. ``allow_private`` lets webhooks reach private addresses (tests, setting
    ``webhooks_allow_private_addresses``).
    """
    if not isinstance(raw, list):
        raise _fail("actions is a list", path)
    if len(raw) > MAX_ACTIONS:
        raise _fail(f"at most {MAX_ACTIONS} actions", path)
    return [_action(item, f"{path}.{i}", allow_macros, allow_private) for i, item in enumerate(raw)]


def _action(raw: Any, path: str, allow_macros: bool, allow_private: bool) -> Action:
    if not isinstance(raw, dict):
        raise _fail('an action is an object such as {"type": "add_tags", "tags": ["vip"]}', path)
    kind = raw.get("type")
    if kind not in _PARAMS or (kind == "apply_macro" and not allow_macros):
        allowed = sorted(k for k in _PARAMS if allow_macros or k != "apply_macro")
        raise _fail(f"unknown action {kind!r}; one of: {', '.join(allowed)}", f"{path}.type")
    params = {k: v for k, v in raw.items() if k != "type"}
    unknown = sorted(set(params) - _PARAMS[kind])
    if unknown:
        raise _fail(f"{kind} takes no {unknown[0]!r}", f"{path}.{unknown[0]}")
    out: dict[str, Any]
    if kind == "set_status":
        status = params.get("status")
        if status not in STATUSES or status == "snoozed":
            raise _fail(
                "open, pending, resolved or closed (snooze has its own action)", f"{path}.status"
            )
        out = {"status": status}
    elif kind == "set_priority":
        if params.get("priority") not in PRIORITIES:
            raise _fail(f"one of: {', '.join(PRIORITIES)}", f"{path}.priority")
        out = {"priority": params["priority"]}
    elif kind in ("add_tags", "remove_tags"):
        out = {"tags": _tags(params.get("tags"), f"{path}.tags")}
    elif kind == "set_custom_fields":
        fields = params.get("fields")
        if not isinstance(fields, dict) or not fields:
            raise _fail("fields is a non-empty object", f"{path}.fields")
        out = {"fields": fields}
    elif kind == "snooze":
        minutes = params.get("minutes")
        if not isinstance(minutes, int) or isinstance(minutes, bool):
            raise _fail("minutes is a whole number", f"{path}.minutes")
        if not 1 <= minutes <= MAX_SNOOZE_MINUTES:
            raise _fail(f"between 1 and {MAX_SNOOZE_MINUTES} minutes", f"{path}.minutes")
        out = {"minutes": minutes}
    elif kind in ("assign_team", "assign_agent"):
        name = "team_id" if kind == "assign_team" else "user_id"
        if name not in params:
            raise _fail(f"{kind} needs {name} (null to remove)", f"{path}.{name}")
        out = {name: _id(params[name], f"{path}.{name}", nullable=True)}
    elif kind in ("put_in_queue", "apply_macro"):
        name = "queue_id" if kind == "put_in_queue" else "macro_id"
        out = {name: _id(params.get(name), f"{path}.{name}")}
    elif kind == "add_note":
        out = {"body": _text(params.get("body"), f"{path}.body")}
    elif kind == "send_reply":
        if ("body" in params) == ("canned_response_id" in params):
            raise _fail("give body or canned_response_id", f"{path}.body")
        if "body" in params:
            out = {"body": _text(params["body"], f"{path}.body")}
        else:
            cid = _id(params["canned_response_id"], f"{path}.canned_response_id")
            out = {"canned_response_id": cid}
    else:  # call_webhook
        url = params.get("url")
        if not isinstance(url, str) or len(url) > 2000:
            raise _fail("an http(s) URL", f"{path}.url")
        try:
            ssrf.check_static(url, allow_private=allow_private)
        except ssrf.UnsafeTarget as exc:
            raise _fail(f"this URL may not be called: {exc}", f"{path}.url") from exc
        out = {"url": url}
    return Action(kind, out, path)


async def check_references(
    session: AsyncSession, account_id: int, actions: Sequence[Action]
) -> None:
    """Every id an action names is a row of ``account_id`` (422 on its path otherwise): a
    rule never reaches into another account."""
    for action in actions:
        p = action.params
        missing: str | None = None
        if action.type == "assign_team" and p["team_id"] is not None:
            if await accounts_repo.get_team(session, account_id, p["team_id"]) is None:
                missing = "team_id"
        elif action.type == "assign_agent" and p["user_id"] is not None:
            user = await accounts_repo.get_user(session, account_id, p["user_id"])
            if user is None or not user.active:
                missing = "user_id"
        elif action.type == "put_in_queue":
            if await routing_repo.get(session, Queue, account_id, p["queue_id"]) is None:
                missing = "queue_id"
        elif action.type == "send_reply" and "canned_response_id" in p:
            system = Principal.system(account_id)
            canned = await repo.get_visible(session, system, p["canned_response_id"])
            if canned is None:
                missing = "canned_response_id"
        elif action.type == "apply_macro":
            macro = await repo.get_macro(session, account_id, p["macro_id"])
            if macro is None or macro.scope != "account":
                missing = "macro_id"
        if missing is not None:
            what = missing.removesuffix("_id").replace("_", " ")
            raise _fail(
                f"no such {what} in this account (shared ones only)", f"{action.path}.{missing}"
            )


@dataclass
class Run:
    """Where a list of actions runs: the conversation, who acts, and what makes a key
    unique per run (a webhook's idempotency key)."""

    conversation: Conversation
    principal: Principal
    #: ``rule:<id>:event:<id>`` or a fresh id for a macro applied by an agent.
    key: str = ""
    allow_private: bool = False

    def __post_init__(self) -> None:
        self.key = self.key or f"macro-run:{uuid.uuid4().hex}"


def describe(actions: Sequence[Action]) -> list[dict[str, Any]]:
    """The actions as JSON (what a dry run says it would do)."""
    return [{"type": a.type, **a.params} for a in actions]


async def execute(
    session: AsyncSession, clock: Clock, run: Run, actions: Sequence[Action]
) -> list[dict[str, Any]]:
    """Run ``actions`` in order; returns what each did. Raises the first error (the caller's
    transaction or savepoint then undoes the ones before it)."""
    done = []
    for index, action in enumerate(actions):
        done.append(await _one(session, clock, run, action, index))
    return done


async def _one(
    session: AsyncSession, clock: Clock, run: Run, action: Action, index: int
) -> dict[str, Any]:
    conversation, principal, p = run.conversation, run.principal, action.params
    result: dict[str, Any] = {"type": action.type}

    async def update(**values: Any) -> None:
        await conversations.update_conversation(
            session, clock, principal, conversation.id, ConversationUpdate.model_validate(values)
        )

    if action.type == "set_status":
        await update(status=p["status"])
    elif action.type == "set_priority":
        await update(priority=p["priority"])
    elif action.type in ("add_tags", "remove_tags"):
        current = set(
            (await conversations_repo.tags_of(session, [conversation.id]))[conversation.id]
        )
        wanted = current | set(p["tags"]) if action.type == "add_tags" else current - set(p["tags"])
        await update(tags=sorted(wanted))
    elif action.type == "set_custom_fields":
        await update(custom_fields={**(conversation.custom_fields or {}), **p["fields"]})
    elif action.type == "snooze":
        until = clock.now() + timedelta(minutes=p["minutes"])
        await update(status="snoozed", snoozed_until=until.isoformat())
        result["until"] = until.isoformat()
    elif action.type == "assign_team":
        await check_references(session, principal.account_id, [action])
        await update(team_id=p["team_id"])
    elif action.type == "assign_agent":
        await check_references(session, principal.account_id, [action])
        await update(assignee_id=p["user_id"])
    elif action.type == "put_in_queue":
        await work.request_transfer(
            session,
            clock,
            principal,
            conversation.id,
            to_queue_id=p["queue_id"],
            to_agent_id=None,
            note=None,
        )
    elif action.type == "add_note":
        body = await _fill(session, run, p["body"])
        message, _ = await conversations.post_message(
            session, clock, principal, conversation.id, MessageCreate(body=body, private=True)
        )
        result["message_id"] = message.id
    elif action.type == "send_reply":
        text = p.get("body")
        if text is None:
            canned = await repo.get_visible(session, principal, p["canned_response_id"])
            if canned is None:
                raise _fail("no such canned response", f"{action.path}.canned_response_id")
            text = canned.body
        body = await _fill(session, run, text)
        if principal.user_id is None:  # a rule: the contact centre itself answers
            sent = await conversations.post_system_message(session, clock, conversation, body)
            if sent is None:
                raise _fail("the conversation has no channel to reply through", action.path)
            result["message_id"] = sent.id
        else:
            message, _ = await conversations.post_message(
                session, clock, principal, conversation.id, MessageCreate(body=body)
            )
            result["message_id"] = message.id
    elif action.type == "call_webhook":
        await outbox.enqueue(
            session,
            clock,
            kind=WEBHOOK_JOB,
            payload={
                "url": p["url"],
                "conversation_id": conversation.id,
                "key": f"{run.key}:{index}",
                "allow_private": run.allow_private,
            },
            idempotency_key=f"automation.webhook:{run.key}:{index}",
            account_id=conversation.account_id,
        )
    else:  # apply_macro
        macro = await repo.get_macro(session, principal.account_id, p["macro_id"])
        if macro is None:
            raise _fail("no such macro", f"{action.path}.macro_id")
        inner = compile_actions(macro.actions, allow_macros=False, allow_private=run.allow_private)
        result["done"] = await execute(session, clock, run, inner)
    return result


async def _fill(session: AsyncSession, run: Run, body: str) -> str:
    values = await service.values_for(session, run.conversation, run.principal.user_id)
    return templates.render(body, values).text


def macro_actions(macro: Macro, *, allow_private: bool = False) -> list[Action]:
    return compile_actions(macro.actions, allow_macros=False, allow_private=allow_private)
