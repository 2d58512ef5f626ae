"""The router's pure decision core: commands in virtual time in, decisions out.

No I/O, no clock, no database: a loader feeds it state, a writer turns its decisions into
events, the simulator replays a day through it. See :mod:`omnidesk.routing.engine.core`
for the rules every engine follows.
"""

from omnidesk.routing.engine.engine import Router
from omnidesk.routing.engine.model import (
    Abandoned,
    AgentConfig,
    Assigned,
    Completed,
    Decision,
    OfferDeclined,
    OfferMade,
    OfferTimedOut,
    OfferWithdrawn,
    Overflowed,
    OverflowStep,
    Policy,
    Presence,
    PresenceChanged,
    QueueConfig,
    Requeued,
    RoutingError,
    Transferred,
    WorkItem,
    WrapUpEnded,
)
from omnidesk.routing.engine.naive import NaiveRouter

__all__ = [
    "Abandoned",
    "AgentConfig",
    "Assigned",
    "Completed",
    "Decision",
    "NaiveRouter",
    "OfferDeclined",
    "OfferMade",
    "OfferTimedOut",
    "OfferWithdrawn",
    "OverflowStep",
    "Overflowed",
    "Policy",
    "Presence",
    "PresenceChanged",
    "QueueConfig",
    "Requeued",
    "Router",
    "RoutingError",
    "Transferred",
    "WorkItem",
    "WrapUpEnded",
]
