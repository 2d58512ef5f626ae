"""The categoriser interface and its keyword / regular-expression implementation. Pure.

A :class:`Categoriser` reads what is known about a customer's message and its
conversation (the automation condition language's facts) and suggests tags or field values,
each with a confidence in [0, 1]. The keyword categoriser is certain when a rule matches (its
rule's confidence, 1 by default); a trained classifier can implement the same protocol later
and be run beside it (docs/adr/0013-categorisers.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from omnidesk.automation.conditions import (
    MAX_TEXT_CHARS,
    ConversationFacts,
    MessageFacts,
    check_regex,
)
from omnidesk.kit.errors import ValidationFailed

#: A keyword or phrase, at most this long; at most this many per rule.
MAX_KEYWORD_CHARS = 100
MAX_KEYWORDS = 200


@dataclass(frozen=True)
class Suggestion:
    """Tag the conversation with ``tag`` and/or set its field ``field_key`` to
    ``field_value``, with this ``confidence``; ``source`` says who suggested it."""

    confidence: float
    source: str
    tag: str | None = None
    field_key: str | None = None
    field_value: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "confidence": self.confidence,
            "tag": self.tag,
            "field_key": self.field_key,
            "field_value": self.field_value,
        }


class Categoriser(Protocol):
    def categorise(
        self, conversation: ConversationFacts, message: MessageFacts
    ) -> list[Suggestion]: ...


def keyword_matcher(keywords: Sequence[str], pattern: str | None) -> re.Pattern[str]:
    """One compiled test for a rule: its keywords as whole words or phrases (any case),
    or its regular expression (checked for catastrophic backtracking)."""
    if pattern is not None:
        if keywords:
            raise ValidationFailed("give keywords or a pattern, not both", field="pattern")
        return check_regex(pattern, "pattern")
    words = [w.strip() for w in keywords if w.strip()]
    if not words:
        raise ValidationFailed("a rule needs keywords or a pattern", field="keywords")
    if len(words) > MAX_KEYWORDS or any(len(w) > MAX_KEYWORD_CHARS for w in words):
        raise ValidationFailed(
            f"at most {MAX_KEYWORDS} keywords of at most {MAX_KEYWORD_CHARS} characters",
            field="keywords",
        )
    # Literals only, longest first, fenced by non-word characters: linear time.
    alternatives = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class KeywordRule:
    id: int
    matcher: re.Pattern[str]
    confidence: float = 1.0
    tag: str | None = None
    field_key: str | None = None
    field_value: Any = None


class KeywordCategoriser:
    """Every rule whose keywords or pattern occur in the message's body or the
    conversation's subject (their first ``MAX_TEXT_CHARS`` characters), in rule order."""

    def __init__(self, rules: Sequence[KeywordRule]) -> None:
        self.rules = list(rules)

    def categorise(
        self, conversation: ConversationFacts, message: MessageFacts
    ) -> list[Suggestion]:
        texts = [t[:MAX_TEXT_CHARS] for t in (message.body, conversation.subject) if t]
        return [
            Suggestion(
                confidence=rule.confidence,
                source=f"rule:{rule.id}",
                tag=rule.tag,
                field_key=rule.field_key,
                field_value=rule.field_value,
            )
            for rule in self.rules
            if any(rule.matcher.search(text) for text in texts)
        ]
