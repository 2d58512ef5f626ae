"""The event types the routing context records (``<context>.<thing>.<what happened>``).

Configuration that every user may read is recorded for the whole account; routing rules,
which only admins and supervisors read, for supervisors; the router's work for supervisors
and, when it names one, the agent (``routing/work.py``).
"""

from __future__ import annotations

BUSINESS_HOURS_CREATED = "routing.business_hours.created"
BUSINESS_HOURS_UPDATED = "routing.business_hours.updated"
BUSINESS_HOURS_DELETED = "routing.business_hours.deleted"
SKILL_CREATED = "routing.skill.created"
SKILL_UPDATED = "routing.skill.updated"
SKILL_DELETED = "routing.skill.deleted"
PROFILE_CREATED = "routing.profile.created"
PROFILE_UPDATED = "routing.profile.updated"
PROFILE_DELETED = "routing.profile.deleted"
QUEUE_CREATED = "routing.queue.created"
QUEUE_UPDATED = "routing.queue.updated"
QUEUE_DELETED = "routing.queue.deleted"
RULE_CREATED = "routing.rule.created"
RULE_UPDATED = "routing.rule.updated"
RULE_DELETED = "routing.rule.deleted"
RULES_REORDERED = "routing.rules.reordered"
AWAY_REASON_CREATED = "routing.away_reason.created"
AWAY_REASON_DELETED = "routing.away_reason.deleted"
PRESENCE_CHANGED = "agent.presence.changed"
AGENT_PROFILE_CHANGED = "agent.profile.changed"
AGENT_SKILLS_CHANGED = "agent.skills.changed"

# The router's work
OFFER_MADE = "offer.made"
OFFER_ACCEPTED = "offer.accepted"
OFFER_DECLINED = "offer.declined"
OFFER_TIMED_OUT = "offer.timed_out"
OFFER_WITHDRAWN = "offer.withdrawn"
WORK_QUEUED = "work_item.queued"
WORK_REQUEUED = "work_item.requeued"
WORK_OVERFLOWED = "work_item.overflowed"
WORK_ENDED = "work_item.ended"
WORK_TRANSFER_ASKED = "work_item.transfer_requested"
WORK_TRANSFERRED = "work_item.transferred"
#: New work entered a closed queue and got its out-of-hours action (once per closed period).
WORK_OUT_OF_HOURS = "work_item.out_of_hours"
