"""From the event log to report rows. Pure: the repository reads the events, this reads them.

One offered contact is one routing WorkItem: it arrives with ``work_item.queued``, is answered
by the first ``conversation.assigned`` that names it and an agent (an accepted offer or the
router's direct assignment), and ends with ``work_item.ended`` (``completed``, ``abandoned``
when the customer left first, ``cancelled`` when resolved while still waiting). What else
happens to its conversation until the conversation's next WorkItem arrives is the contact's:
the first agent message (``message.created`` by a user) is its first response, the first
``conversation.resolved`` its resolution, a later ``conversation.status_changed`` away from
``resolved`` reopens it, ``work_item.transferred`` counts a transfer and
``conversation.csat_received`` its CSAT.

Handle time is the time an agent held the work (from each assignment to the transfer,
requeue or end that took it away) plus wrap-up: the agent's ``wrap_up`` presence that
began when the work ended. Available time is an agent's time in a presence other than
``away`` and ``offline`` (``agent.presence.changed``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from omnidesk.analytics.metrics import ContactRecord

QUEUED = "work_item.queued"
ENDED = "work_item.ended"
TRANSFERRED = "work_item.transferred"
ASSIGNED = "conversation.assigned"
AGENT_MESSAGE = "message.created"
RESOLVED = "conversation.resolved"
STATUS_CHANGED = "conversation.status_changed"
CONTACT_LEFT = "conversation.contact_left"
CSAT_RECEIVED = "conversation.csat_received"
PRESENCE_CHANGED = "agent.presence.changed"
#: What a contact's conversation records that the report reads.
CONVERSATION_TYPES = (
    QUEUED,
    ENDED,
    TRANSFERRED,
    ASSIGNED,
    AGENT_MESSAGE,
    RESOLVED,
    STATUS_CHANGED,
    CONTACT_LEFT,
    CSAT_RECEIVED,
)
#: Presences in which an agent is not available for work.
UNAVAILABLE = ("away", "offline")
#: A wrap-up that starts this soon after the work ended belongs to it (the router puts the
#: agent in wrap-up in the round that ends the work).
WRAP_UP_MATCH = timedelta(seconds=5)
# Every real time zone's offset is a whole number of quarter hours: cut there, the pieces of
# an interval each fall in one local hour.
_QUARTER = timedelta(minutes=15)


@dataclass(frozen=True)
class LoggedEvent:
    """The columns of an event that reports read."""

    id: int
    type: str
    created_at: datetime
    conversation_id: int | None = None
    team_id: int | None = None
    actor_user_id: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class _Contact:
    arrived_at: datetime
    queue_id: int | None
    answered_at: datetime | None = None
    agent_id: int | None = None
    team_id: int | None = None
    held_since: datetime | None = None
    held_s: float = 0.0
    ended_at: datetime | None = None
    left_at: datetime | None = None
    abandoned: bool = False
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    reopened: bool = False
    transfers: int = 0
    csat: int | None = None

    def release(self, at: datetime) -> None:
        if self.held_since is not None:
            self.held_s += max(0.0, (at - self.held_since).total_seconds())
            self.held_since = None

    def read(self, event: LoggedEvent, item_id: int) -> None:
        mine = _int(event.data.get("work_item_id")) == item_id
        at = event.created_at
        if event.type == ASSIGNED and mine:
            agent = _int(event.data.get("assignee_id"))
            self.release(at)
            if agent is not None:
                if self.answered_at is None:
                    self.answered_at = at
                self.agent_id, self.held_since = agent, at
                self.team_id = _int(event.data.get("team_id")) or event.team_id
        elif event.type == TRANSFERRED and mine:
            self.transfers += 1
            self.release(at)
        elif event.type == ENDED and mine:
            self.release(at)
            self.ended_at = at
            self.abandoned = event.data.get("status") == "abandoned"
        elif event.type == CONTACT_LEFT and self.left_at is None:
            self.left_at = at
        elif event.type == AGENT_MESSAGE and event.actor_user_id is not None:
            self.first_response_at = self.first_response_at or at
        elif event.type == RESOLVED:
            self.resolved_at = self.resolved_at or at
        elif event.type == STATUS_CHANGED and event.data.get("from") == "resolved":
            self.reopened = self.reopened or self.resolved_at is not None
        elif event.type == CSAT_RECEIVED:
            self.csat = _int(event.data.get("rating"))


def build_records(
    conversation_events: Iterable[LoggedEvent],
    *,
    item_ids: Iterable[int],
    channels: Mapping[int, str],
    wrap_ups: Mapping[int, Sequence[tuple[datetime, datetime]]],
    until: datetime,
) -> dict[int, ContactRecord]:
    """ContactRecords by WorkItem id for the WorkItems ``item_ids`` (whose queued events are
    among ``conversation_events``, with every later event of their conversations).

    ``channels`` gives each WorkItem's channel, ``wrap_ups`` each agent's wrap-up periods and
    ``until`` is now: work still held is held until then.
    """
    wanted = set(item_ids)
    by_conversation: dict[int, list[LoggedEvent]] = {}
    for event in conversation_events:
        if event.conversation_id is not None:
            by_conversation.setdefault(event.conversation_id, []).append(event)
    records: dict[int, ContactRecord] = {}
    for events in by_conversation.values():
        events.sort(key=lambda e: (e.created_at, e.id))
        current: tuple[int, _Contact] | None = None
        for event in events:
            if event.type == QUEUED:
                if current is not None:
                    records[current[0]] = _record(*current, channels, wrap_ups, until)
                item_id = _int(event.data.get("work_item_id"))
                current = None
                if item_id in wanted and item_id is not None:
                    contact = _Contact(event.created_at, _int(event.data.get("queue_id")))
                    current = (item_id, contact)
            elif current is not None:
                current[1].read(event, current[0])
        if current is not None:
            records[current[0]] = _record(*current, channels, wrap_ups, until)
    return records


def _wrap_s(
    contact: _Contact, wrap_ups: Mapping[int, Sequence[tuple[datetime, datetime]]]
) -> float:
    if contact.agent_id is None or contact.ended_at is None:
        return 0.0
    for start, end in wrap_ups.get(contact.agent_id, ()):
        if contact.ended_at <= start <= contact.ended_at + WRAP_UP_MATCH:
            return (end - start).total_seconds()
    return 0.0


def _record(
    item_id: int,
    contact: _Contact,
    channels: Mapping[int, str],
    wrap_ups: Mapping[int, Sequence[tuple[datetime, datetime]]],
    until: datetime,
) -> ContactRecord:
    contact.release(until)
    answered = contact.answered_at is not None
    wrap = _wrap_s(contact, wrap_ups) if answered else 0.0
    abandoned_at = None
    if contact.abandoned and not answered:
        abandoned_at = contact.left_at or contact.ended_at
    return ContactRecord(
        channel=channels.get(item_id, "api"),
        queue=None if contact.queue_id is None else str(contact.queue_id),
        team=None if contact.team_id is None else str(contact.team_id),
        agent=None if contact.agent_id is None or not answered else str(contact.agent_id),
        arrived_at=contact.arrived_at,
        answered_at=contact.answered_at,
        abandoned_at=abandoned_at,
        first_response_at=contact.first_response_at,
        resolved_at=contact.resolved_at,
        handle_s=contact.held_s + wrap if answered else None,
        wrap_s=wrap,
        transfers=contact.transfers,
        reopened=contact.reopened,
        csat=contact.csat,
    )


# Presence ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PresenceSpan:
    agent_id: int
    presence: str
    start: datetime
    end: datetime


def presence_spans(
    before: Mapping[int, str], changes: Iterable[LoggedEvent], start: datetime, end: datetime
) -> list[PresenceSpan]:
    """Each agent's presences over ``[start, end)``: ``before`` is each one's presence at
    ``start``, ``changes`` the ``agent.presence.changed`` events inside the period."""
    state = dict(before)
    since = dict.fromkeys(state, start)
    spans: list[PresenceSpan] = []
    for event in sorted(changes, key=lambda e: (e.created_at, e.id)):
        agent, presence = _int(event.data.get("user_id")), event.data.get("presence")
        if agent is None or not isinstance(presence, str) or not start <= event.created_at < end:
            continue
        if agent in state and event.created_at > since[agent]:
            spans.append(PresenceSpan(agent, state[agent], since[agent], event.created_at))
        state[agent], since[agent] = presence, event.created_at
    spans.extend(PresenceSpan(a, p, since[a], end) for a, p in state.items() if since[a] < end)
    return spans


def wrap_up_periods(spans: Iterable[PresenceSpan]) -> dict[int, list[tuple[datetime, datetime]]]:
    periods: dict[int, list[tuple[datetime, datetime]]] = {}
    for span in spans:
        if span.presence == "wrap_up":
            periods.setdefault(span.agent_id, []).append((span.start, span.end))
    return periods


def available_seconds(
    spans: Iterable[PresenceSpan], key: Callable[[datetime], str] | None = None
) -> dict[str, dict[str, float]]:
    """Available seconds per agent (as a string id), per ``key`` of the time (an hour or a
    day: the spans are cut at quarter hours so that each piece has one key), or under ``""``
    without a key."""
    totals: dict[str, dict[str, float]] = {}
    for span in spans:
        if span.presence in UNAVAILABLE or span.end <= span.start:
            continue
        agent = str(span.agent_id)
        pieces = [(span.start, span.end)] if key is None else _quarters(span.start, span.end)
        for start, end in pieces:
            bucket = "" if key is None else key(start)
            per_agent = totals.setdefault(bucket, {})
            per_agent[agent] = per_agent.get(agent, 0.0) + (end - start).total_seconds()
    return totals


def _quarters(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    epoch = datetime(2000, 1, 1, tzinfo=start.tzinfo)
    pieces = []
    cursor = start
    while cursor < end:
        boundary = epoch + ((cursor - epoch) // _QUARTER + 1) * _QUARTER
        pieces.append((cursor, min(boundary, end)))
        cursor = pieces[-1][1]
    return pieces
