"""Variables in canned responses: ``{{contact.first_name}}`` and friends. Pure.

Filling in is one pass of one regular expression over the body: a value is inserted as
text and never read again (a contact named ``{{agent.name}}`` stays that), nothing is
evaluated, and a variable without a value becomes the empty string. No template engine:
bodies are written by agents, so they may only name the variables listed here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

#: The variables a body may name, and what each is.
VARIABLES: dict[str, str] = {
    "contact.first_name": "the contact's first name (the first word of their name)",
    "contact.name": "the contact's name",
    "contact.email": "the contact's email address (their first, if they have several)",
    "agent.name": "the name of the agent inserting the response",
    "conversation.id": "the conversation's number",
}
#: ``contact.attributes.<key>``: one of the contact's custom attributes.
ATTRIBUTE_PREFIX = "contact.attributes."
_ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
_VARIABLE = re.compile(r"\{\{\s*([^{}\s]*)\s*\}\}")


def variables_in(body: str) -> list[str]:
    """The variables ``body`` names, in order of first appearance."""
    return list(dict.fromkeys(m.group(1) for m in _VARIABLE.finditer(body)))


def is_known(name: str) -> bool:
    if name in VARIABLES:
        return True
    key = name.removeprefix(ATTRIBUTE_PREFIX)
    return key != name and _ATTRIBUTE_KEY.fullmatch(key) is not None


def unknown_variables(body: str) -> list[str]:
    """The variables of ``body`` that are not ours (a typo, or a template language's)."""
    return [name for name in variables_in(body) if not is_known(name)]


@dataclass(frozen=True)
class Rendered:
    text: str
    #: Variables that had no value (each became the empty string).
    missing: list[str]


def render(body: str, values: Mapping[str, str]) -> Rendered:
    """``body`` with each variable replaced by its value in ``values`` ("" when absent)."""
    missing: dict[str, None] = {}

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1), "")
        if not value:
            missing[match.group(1)] = None
        return value

    return Rendered(_VARIABLE.sub(fill, body), list(missing))


def as_text(value: Any) -> str:
    """A custom attribute's value as an agent would write it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(as_text(v) for v in value)
    if isinstance(value, dict):
        return ""  # no structure is spelled out into a reply
    return str(value)


def first_name(name: str) -> str:
    parts = name.split()
    return parts[0] if parts else ""


def values_for(
    *,
    contact_name: str,
    contact_email: str | None,
    contact_attributes: Mapping[str, Any],
    agent_name: str | None,
    conversation_id: int,
) -> dict[str, str]:
    """Every variable's value for one conversation and agent."""
    values = {
        "contact.first_name": first_name(contact_name),
        "contact.name": contact_name.strip(),
        "contact.email": contact_email or "",
        "agent.name": (agent_name or "").strip(),
        "conversation.id": str(conversation_id),
    }
    for key, value in contact_attributes.items():
        values[ATTRIBUTE_PREFIX + str(key)] = as_text(value)
    return values
