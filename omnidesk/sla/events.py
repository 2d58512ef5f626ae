"""Event types of the SLA context (rules and reports read them)."""

from __future__ import annotations

#: A running target reached its warning threshold (once per clock).
WARNING = "sla.warning"
#: A target's business time ran out before it was met (once per clock).
BREACHED = "sla.breached"
#: A target was met (on time or late: ``data.on_time``).
ACHIEVED = "sla.achieved"
POLICY_CREATED = "sla_policy.created"
POLICY_UPDATED = "sla_policy.updated"
POLICY_DELETED = "sla_policy.deleted"
