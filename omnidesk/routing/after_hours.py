"""Out of hours: what the router does with new work that enters a closed queue.

A queue with business hours is *closed* when its calendar says so at the router's "now"
(``routing/hours.py``: holidays and daylight-saving changes included). New work entering a
closed queue gets the queue's out-of-hours action once per conversation and closed period, a
period being named by the opening that ends it (``opens_at``):

* ``keep_waiting``: the work waits for an agent;
* ``auto_reply``: the customer is sent the queue's message (``{next_open}``, ``{queue}``
  filled in) through the conversation's channel, like an agent's reply (the outbox); the
  work waits;
* ``voicemail``: voice work only. There is no voice channel yet: the intent is recorded on
  the work (``voicemail: true``) for the voice channel, which will take the caller's
  message; the work waits. Work of other channels keeps waiting;
* ``close``: the customer is sent the message, the conversation is resolved by the system
  and the WorkItem ends ``cancelled`` (the centre closed it: not an abandonment).

Only a customer's message brings an action: work that re-enters routing without one (an
agent handing a conversation back) just waits, and so does a conversation that already had
the action in this closed period (no second auto-reply, no closing again what the customer
reopened by writing back). A conversation without a channel has nobody to answer: it waits.

Business hours decide what the customer is told, not who may answer: an agent who is
available out of hours still receives the work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.conversations import service as conversations
from omnidesk.conversations.models import Conversation
from omnidesk.kit.clock import Clock
from omnidesk.routing import events as ev
from omnidesk.routing import hours, work
from omnidesk.routing import repository as repo
from omnidesk.routing import service as routing
from omnidesk.routing.models import BusinessHours, Queue, WorkItem

log = structlog.get_logger(__name__)

#: The channel whose work ``voicemail`` applies to.
VOICE = "voice"
#: ``{next_open}`` when the calendar never opens again.
NO_OPENING = "our next opening"


@dataclass(frozen=True)
class Closure:
    """A queue closed now: its next opening (None: never again) and the calendar's zone."""

    opens_at: datetime | None
    timezone: str


@dataclass(frozen=True)
class Plan:
    """What happens to one new WorkItem that entered a closed queue."""

    #: The queue's configured action.
    action: str
    #: What is done: ``keep_waiting``, ``auto_reply``, ``voicemail`` or ``close``.
    applied: str
    closure: Closure
    #: False: nothing to do beyond waiting (not brought by the customer, or already done).
    first: bool

    @property
    def opens_at(self) -> str | None:
        return self.closure.opens_at.isoformat() if self.closure.opens_at else None

    def queued_data(self) -> dict[str, Any]:
        """What the ``work_item.queued`` event says about it."""
        return {
            "out_of_hours": True,
            "opens_at": self.opens_at,
            "out_of_hours_action": self.applied,
            "voicemail": self.applied == "voicemail",
        }


async def closed_queues(
    session: AsyncSession, account_id: int, queues: Sequence[Queue], at: datetime
) -> dict[int, Closure]:
    """The queues among ``queues`` whose business hours say they are closed ``at``."""
    with_hours = [q for q in queues if q.business_hours_id is not None]
    if not with_hours:
        return {}
    calendars = {c.id: c for c in await repo.list_all(session, BusinessHours, account_id)}
    closed: dict[int, Closure] = {}
    for queue in with_hours:
        calendar = calendars.get(queue.business_hours_id or 0)
        if calendar is None:
            continue
        try:
            schedule = routing.schedule_of(calendar)
            if not schedule.is_open(at):
                closed[queue.id] = Closure(schedule.next_open(at), calendar.timezone)
        except (hours.HoursError, KeyError, TypeError, ValueError):
            # A calendar stored before today's checks: route as if open rather than stall.
            log.warning("business_hours_unreadable", business_hours_id=calendar.id)
    return closed


async def plan(
    session: AsyncSession,
    clock: Clock,
    account_id: int,
    items: Sequence[WorkItem],
    queues: Mapping[int, Queue],
    conversations_by_id: Mapping[int, Conversation],
) -> dict[int, Plan]:
    """The plan of each new WorkItem (flushed: it has its id) that entered a closed queue."""
    entered = [queues[q] for q in sorted({i.queue_id for i in items}) if q in queues]
    closed = await closed_queues(session, account_id, entered, clock.now())
    candidates = [i for i in items if i.queue_id in closed]
    if not candidates:
        return {}
    ids = [i.conversation_id for i in candidates]
    applied = await repo.out_of_hours_applied(session, ids, ev.WORK_OUT_OF_HOURS)
    brought = await repo.brought_by_customer(session, ids, [i.id for i in items])
    plans: dict[int, Plan] = {}
    for item in candidates:
        queue, closure = queues[item.queue_id], closed[item.queue_id]
        conversation = conversations_by_id[item.conversation_id]
        opens_at = closure.opens_at.isoformat() if closure.opens_at else None
        first = item.conversation_id in brought and opens_at not in applied.get(
            item.conversation_id, set()
        )
        action = queue.out_of_hours_action
        done = _applicable(action, item.channel, conversation) if first else "keep_waiting"
        plans[item.id] = Plan(action, done, closure, first)
    return plans


def _applicable(action: str, channel: str, conversation: Conversation) -> str:
    if action == "voicemail":
        return "voicemail" if channel == VOICE else "keep_waiting"
    if action in ("auto_reply", "close") and conversation.inbox_id is None:
        return "keep_waiting"  # no channel to answer through
    return action if action in ("keep_waiting", "auto_reply", "close") else "keep_waiting"


async def carry_out(
    session: AsyncSession,
    clock: Clock,
    item: WorkItem,
    plan: Plan,
    queue: Queue,
    conversation: Conversation,
) -> bool:
    """Apply the plan; True when the work ended (``close``): it never reaches an agent."""
    if not plan.first:
        return False
    message = None
    if plan.applied in ("auto_reply", "close"):
        message = await conversations.post_system_message(
            session,
            clock,
            conversation,
            render(queue, plan.closure),
            meta={"out_of_hours": True, "work_item_id": item.id},
        )
    await work.record(
        session,
        clock,
        ev.WORK_OUT_OF_HOURS,
        item,
        {
            "action": plan.action,
            "applied": plan.applied,
            "opens_at": plan.opens_at,
            "message_id": message.id if message is not None else None,
        },
    )
    if plan.applied != "close":
        return False
    await conversations.change_status(session, clock, conversation, "resolved", actor_user_id=None)
    item.status, item.ended_at = "cancelled", clock.now()
    await work.record(
        session,
        clock,
        ev.WORK_ENDED,
        item,
        {"status": item.status, "reason": "out_of_hours", "conversation_status": "resolved"},
    )
    return True


def local_time(at: datetime | None, timezone: str) -> str:
    """An opening as a customer reads it: in the calendar's zone, named."""
    if at is None:
        return NO_OPENING
    local = at.astimezone(ZoneInfo(timezone))
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M} ({timezone})"


def render(queue: Queue, closure: Closure) -> str:
    """The queue's message for the customer (its action's default when empty)."""
    default = routing.DEFAULT_MESSAGES.get(queue.out_of_hours_action, "")
    template = queue.out_of_hours_message if queue.out_of_hours_message.strip() else default
    when = local_time(closure.opens_at, closure.timezone)
    try:
        return routing.render_message(template, next_open=when, queue=queue.name)
    except (AttributeError, IndexError, KeyError, ValueError):
        # Checked when saved; a template from before the check falls back to the default.
        return routing.render_message(
            default or routing.DEFAULT_MESSAGES["auto_reply"], next_open=when, queue=queue.name
        )
