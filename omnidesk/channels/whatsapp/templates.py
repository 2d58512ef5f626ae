"""Message templates: which can be sent, their variables, and the text a customer reads.

A template (approved by Meta) has components: an optional ``HEADER`` (text, or a media
format), a ``BODY``, an optional ``FOOTER`` and ``BUTTONS``. Text holds variables,
``{{1}}``, ``{{2}}``… (or named ones, ``{{order_id}}``), numbered per component. A variable
is named here ``<component>.<name>`` (``body.1``, ``header.1``) so that one flat form fills
them all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omnidesk.kit.errors import ValidationFailed

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_WITH_VARIABLES = ("header", "body")
MAX_VALUE_CHARS = 1024


@dataclass(frozen=True)
class Rendered:
    text: str
    #: The send API's ``components`` with their parameters, in the template's order.
    components: list[dict[str, Any]]


def _text_of(component: Mapping[str, Any]) -> str:
    return str(component.get("text") or "")


def _type(component: Mapping[str, Any]) -> str:
    return str(component.get("type") or "").lower()


def variables(components: list[dict[str, Any]]) -> list[str]:
    """Every variable a template needs filled, in reading order, each once."""
    found: list[str] = []
    for component in components:
        kind = _type(component)
        if kind in _WITH_VARIABLES:
            for name in _VARIABLE.findall(_text_of(component)):
                if f"{kind}.{name}" not in found:
                    found.append(f"{kind}.{name}")
    return found


def unsupported(components: list[dict[str, Any]]) -> str | None:
    """Why a template cannot be sent from here (a media header, a button with a variable);
    None when it can."""
    for component in components:
        kind = _type(component)
        if kind == "header" and str(component.get("format") or "TEXT").upper() != "TEXT":
            return "its header is a file (image, video or document)"
        if kind == "buttons":
            for button in component.get("buttons") or []:
                if isinstance(button, dict) and _VARIABLE.search(str(button.get("url") or "")):
                    return "a button's link has a variable"
    return None


def render(components: list[dict[str, Any]], values: Mapping[str, str]) -> Rendered:
    """The template's text with ``values`` in it, and the send API's parameters.

    A variable without a value (or with a blank one) is refused, naming it.
    """
    for name in variables(components):
        value = values.get(name)
        if value is None or not value.strip():
            raise ValidationFailed(
                f"the template variable {{{{{name.split('.', 1)[1]}}}}} of the "
                f"{name.split('.', 1)[0]} has no value",
                field=f"variables.{name}",
            )
        if len(value) > MAX_VALUE_CHARS:
            raise ValidationFailed(
                f"the value of {name} is longer than {MAX_VALUE_CHARS} characters",
                field=f"variables.{name}",
            )
    parts: list[str] = []
    parameters: list[dict[str, Any]] = []
    for component in components:
        kind = _type(component)
        if kind in _WITH_VARIABLES:
            names = list(dict.fromkeys(_VARIABLE.findall(_text_of(component))))
            text = _fill(_text_of(component), kind, values)
            if text:
                parts.append(text)
            if names:
                parameters.append({"type": kind, "parameters": _parameters(kind, names, values)})
        elif kind == "footer" and _text_of(component):
            parts.append(_text_of(component))
        elif kind == "buttons":
            labels = [
                f"[{b.get('text')}]" for b in component.get("buttons") or [] if isinstance(b, dict)
            ]
            if labels:
                parts.append(" ".join(labels))
    return Rendered(text="\n\n".join(parts), components=parameters)


def _fill(text: str, kind: str, values: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        return values[f"{kind}.{match.group(1)}"]

    return _VARIABLE.sub(value, text)


def _parameters(kind: str, names: list[str], values: Mapping[str, str]) -> list[dict[str, Any]]:
    if all(name.isdigit() for name in names):
        # Positional: Meta reads them in order {{1}}, {{2}}…
        return [{"type": "text", "text": values[f"{kind}.{n}"]} for n in sorted(names, key=int)]
    return [{"type": "text", "parameter_name": n, "text": values[f"{kind}.{n}"]} for n in names]
