"""The condition language of automation rules: a typed tree, compiled once, evaluated fast.

Pure: no I/O, no other context. Rules and their actions (docs/automation.md) are being built
on this module; it only answers "does this event match?".

A definition is JSON::

    {"all": [
        {"field": "conversation.priority", "op": "in", "value": ["high", "urgent"]},
        {"any": [
            {"field": "message.body", "op": "contains", "value": "refund"},
            {"not": {"field": "contact.email", "op": "is_set"}}
        ]}
    ]}

``compile`` checks it against the field catalogue (:data:`FIELDS`, one table: each field's
type; :data:`OPERATORS` says which operators each type allows) and returns a
:class:`Condition` whose predicate has its regexes compiled and its ``in`` lists turned into
sets. Every refusal is a :class:`~omnidesk.kit.errors.ValidationFailed` whose ``field`` is
the path of the bad part, e.g. ``conditions.all.2.value``.

Semantics, all of them documented in docs/automation.md:

* ``{"all": []}`` is true and ``{"any": []}`` is false (the neutral elements).
* A condition on an unset field (None, ``""``, an empty list) is false — negative operators
  (``ne``, ``not_in``, ``not_contains``) included — except ``is_empty`` (true) and ``is_set``
  (false). ``not`` inverts exactly, so ``{"not": {... "op": "eq" ...}}`` is true when unset.
* Text comparisons ignore case (``casefold``); ``matches`` is a ``re.search`` on the text as
  written (use ``(?i)`` for case-insensitive). A condition sees the first
  :data:`MAX_TEXT_CHARS` characters of a text only, which bounds the cost of every regex.
* Catastrophic regexes are refused at compile time by a static check of the parsed pattern
  (:func:`check_regex`); its limits are written there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Literal

from omnidesk.conversations.vocabulary import PRIORITIES, STATUSES
from omnidesk.kit.errors import ValidationFailed

#: A condition sees at most this many characters of any text (subject, body, name…).
MAX_TEXT_CHARS = 10_000
#: Nesting of all/any/not, the root counting as 1.
MAX_DEPTH = 8
#: Nodes (groups and leaves) in one condition tree.
MAX_NODES = 200
#: Items in the list of an ``in``/``not_in``/``has_any``/``has_all``.
MAX_LIST_ITEMS = 500
#: Characters of a ``matches`` pattern and of a text value.
MAX_PATTERN_CHARS = 500
MAX_VALUE_CHARS = 1000

FieldType = Literal[
    "text", "number", "bool", "enum", "id", "tags", "language", "datetime", "custom"
]

DIRECTIONS = ("inbound", "outbound")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: Which operators each type allows.
OPERATORS: dict[FieldType, frozenset[str]] = {
    "text": frozenset(
        {
            "eq", "ne", "in", "not_in", "contains", "not_contains", "starts_with", "matches",
            "is_set", "is_empty",
        }
    ),
    "number": frozenset(
        {"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "is_set", "is_empty"}
    ),
    "bool": frozenset({"eq", "ne", "is_set", "is_empty"}),
    "enum": frozenset({"eq", "ne", "in", "not_in", "is_set", "is_empty"}),
    "id": frozenset({"eq", "ne", "in", "not_in", "is_set", "is_empty"}),
    "tags": frozenset(
        {"contains", "not_contains", "has_any", "has_all", "is_set", "is_empty"}
    ),
    "language": frozenset({"eq", "ne", "in", "not_in", "is_set", "is_empty"}),
    "datetime": frozenset(
        {"gt", "gte", "lt", "lte", "within_business_hours", "is_set", "is_empty"}
    ),
    "custom": frozenset(
        {
            "eq", "ne", "in", "not_in", "contains", "not_contains", "starts_with", "matches",
            "gt", "gte", "lt", "lte", "is_set", "is_empty",
        }
    ),
}  # fmt: skip

#: Operators that take no value.
NO_VALUE_OPS = frozenset({"is_set", "is_empty"})


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    description: str
    choices: tuple[str, ...] = ()


#: The field catalogue. ``conversation.custom.<name>`` and ``contact.attribute.<name>`` are
#: the custom fields (type ``custom``, see :data:`CUSTOM_PREFIXES`).
FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("conversation.status", "enum", "The conversation's status.", STATUSES),
        FieldSpec("conversation.priority", "enum", "The conversation's priority.", PRIORITIES),
        FieldSpec("conversation.subject", "text", "The conversation's subject."),
        FieldSpec("conversation.tags", "tags", "The conversation's tags."),
        FieldSpec("conversation.channel", "text", "The inbox's channel type (email, api…)."),
        FieldSpec("conversation.inbox_id", "id", "The inbox the conversation is in."),
        FieldSpec("conversation.team_id", "id", "The team it is assigned to."),
        FieldSpec("conversation.assignee_id", "id", "The agent it is assigned to."),
        FieldSpec("message.body", "text", "The message's text."),
        FieldSpec("message.direction", "enum", "inbound or outbound.", DIRECTIONS),
        FieldSpec("message.private", "bool", "True for an internal note."),
        FieldSpec("message.language", "language", "The message's language (fr matches fr-CA)."),
        FieldSpec("contact.name", "text", "The contact's name."),
        FieldSpec("contact.email", "text", "The contact's email address."),
        FieldSpec("contact.phone", "text", "The contact's phone number."),
        FieldSpec("time.now", "datetime", "The event's instant."),
        FieldSpec("time.hour", "number", "The hour (0-23) in the account's time zone."),
        FieldSpec("time.weekday", "enum", "The weekday in the account's time zone.", WEEKDAYS),
    )
}
_TEXT_FIELDS = tuple(name for name, spec in FIELDS.items() if spec.type == "text")
CUSTOM_PREFIXES = ("conversation.custom.", "contact.attribute.")
_CUSTOM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]{0,63}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


# --- facts -------------------------------------------------------------------------------


@dataclass
class ConversationFacts:
    status: str | None = None
    priority: str | None = None
    subject: str | None = None
    tags: Sequence[str] = ()
    channel: str | None = None
    inbox_id: int | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    custom: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class MessageFacts:
    body: str | None = None
    direction: str | None = None
    private: bool | None = None
    language: str | None = None


@dataclass
class ContactFacts:
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Facts:
    """What is known about one event, built by the caller once and evaluated by every rule.

    ``now`` read in ``zone`` gives ``time.hour`` and ``time.weekday`` (UTC without a zone);
    ``business_hours(calendar_id, at)`` is the injected predicate of
    ``within_business_hours`` (the account's calendars): without it the operator is false.
    """

    conversation: ConversationFacts = field(default_factory=ConversationFacts)
    message: MessageFacts | None = None
    contact: ContactFacts | None = None
    now: datetime | None = None
    zone: tzinfo | None = None
    business_hours: Callable[[int, datetime], bool] | None = None
    #: Field name -> value as conditions see it (texts bounded, tags folded); filled once.
    values: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        conv, msg, contact = self.conversation, self.message, self.contact
        values: dict[str, Any] = {
            "conversation.status": conv.status,
            "conversation.priority": conv.priority,
            "conversation.subject": _bounded(conv.subject),
            "conversation.tags": frozenset(t.casefold() for t in conv.tags),
            "conversation.channel": conv.channel,
            "conversation.inbox_id": conv.inbox_id,
            "conversation.team_id": conv.team_id,
            "conversation.assignee_id": conv.assignee_id,
        }
        if msg is not None:
            values["message.body"] = _bounded(msg.body)
            values["message.direction"] = msg.direction
            values["message.private"] = msg.private
            values["message.language"] = msg.language.casefold() if msg.language else None
        if contact is not None:
            values["contact.name"] = _bounded(contact.name)
            values["contact.email"] = _bounded(contact.email)
            values["contact.phone"] = _bounded(contact.phone)
        if self.now is not None:
            local = self.now.astimezone(self.zone) if self.zone is not None else self.now
            values["time.now"] = self.now
            values["time.hour"] = local.hour
            values["time.weekday"] = WEEKDAYS[local.weekday()]
        self.values = values
        #: Texts casefolded once, for the text operators (which ignore case).
        self.folded: dict[str, str] = {
            name: text.casefold()
            for name in _TEXT_FIELDS
            if isinstance(text := values.get(name), str)
        }
        #: Outcomes of regexes on this event's texts, keyed by (field, pattern).
        self.memo: dict[tuple[str, str], bool] = {}

    def value(self, name: str) -> Any:
        if name.startswith("conversation.custom."):
            return _bounded_any(self.conversation.custom.get(name[20:]))
        if name.startswith("contact.attribute."):
            if self.contact is None:
                return None
            return _bounded_any(self.contact.attributes.get(name[18:]))
        return self.values.get(name)


def _bounded(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS]


def _bounded_any(value: Any) -> Any:
    return _bounded(value) if isinstance(value, str) else value


# --- the compiled form --------------------------------------------------------------------

Test = Callable[[Facts], bool]


@dataclass(frozen=True)
class Condition:
    """A compiled condition: ``kind`` is all, any, not or leaf; ``test`` is the predicate."""

    kind: Literal["all", "any", "not", "leaf"]
    path: str
    test: Test = field(compare=False, repr=False)
    children: tuple[Condition, ...] = ()
    field: str | None = None
    op: str | None = None
    value: Any = None


@dataclass(frozen=True)
class LeafOutcome:
    path: str
    field: str
    op: str
    value: Any
    matched: bool


@dataclass(frozen=True)
class Explanation:
    matched: bool
    leaves: tuple[LeafOutcome, ...]


def evaluate(condition: Condition, facts: Facts) -> bool:
    return condition.test(facts)


def explain(condition: Condition, facts: Facts) -> Explanation:
    """Whether it matches, and every leaf with its own outcome (none short-circuited)."""
    leaves: list[LeafOutcome] = []

    def walk(node: Condition) -> None:
        if node.kind == "leaf":
            assert node.field is not None
            assert node.op is not None
            leaves.append(LeafOutcome(node.path, node.field, node.op, node.value, node.test(facts)))
        for child in node.children:
            walk(child)

    walk(condition)
    return Explanation(condition.test(facts), tuple(leaves))


# --- compile ------------------------------------------------------------------------------


def compile(definition: Any, *, path: str = "conditions") -> Condition:
    """Check a definition and return its fast predicate; ValidationFailed names the path."""
    counter = [0]
    return _node(definition, path, 1, counter)


def _fail(message: str, path: str) -> ValidationFailed:
    return ValidationFailed(message, field=path)


def _node(raw: Any, path: str, depth: int, counter: list[int]) -> Condition:
    if not isinstance(raw, dict):
        raise _fail("a condition is an object: all, any, not, or field/op/value", path)
    if depth > MAX_DEPTH:
        raise _fail(f"conditions nest at most {MAX_DEPTH} deep", path)
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise _fail(f"a condition has at most {MAX_NODES} parts", path)
    groups = [key for key in ("all", "any", "not") if key in raw]
    if groups:
        if len(raw) != 1:
            raise _fail("a group has exactly one key: all, any or not", path)
        kind: Literal["all", "any", "not"] = (
            "all" if groups[0] == "all" else ("any" if groups[0] == "any" else "not")
        )
        sub = f"{path}.{kind}"
        if kind == "not":
            child = _node(raw["not"], sub, depth + 1, counter)
            inner = child.test
            return Condition("not", path, lambda f: not inner(f), (child,))
        items = raw[kind]
        if not isinstance(items, list):
            raise _fail(f"{kind} takes a list of conditions", sub)
        children = tuple(
            _node(item, f"{sub}.{i}", depth + 1, counter) for i, item in enumerate(items)
        )
        # Evaluation is pure, so the order of a group's parts changes only its cost.
        tests = tuple(c.test for c in sorted(children, key=_cost))
        return Condition(kind, path, _all(tests) if kind == "all" else _any(tests), children)
    return _leaf(raw, path)


def _all(tests: tuple[Test, ...]) -> Test:
    # Small groups (the usual ones) are unrolled: cheaper than a loop per event and rule.
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        a, b = tests
        return lambda f: a(f) and b(f)
    if len(tests) == 3:
        a, b, c = tests
        return lambda f: a(f) and b(f) and c(f)

    def test(facts: Facts) -> bool:
        for t in tests:  # noqa: SIM110 - a loop is faster than all() on a generator
            if not t(facts):
                return False
        return True

    return test


def _any(tests: tuple[Test, ...]) -> Test:
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        a, b = tests
        return lambda f: a(f) or b(f)
    if len(tests) == 3:
        a, b, c = tests
        return lambda f: a(f) or b(f) or c(f)

    def test(facts: Facts) -> bool:
        for t in tests:  # noqa: SIM110 - a loop is faster than any() on a generator
            if t(facts):
                return True
        return False

    return test


def _cost(node: Condition) -> int:
    """A rough rank of evaluation cost: groups try their cheap parts first."""
    if node.kind != "leaf":
        return max((_cost(c) for c in node.children), default=0) + 1
    if node.op == "matches":
        return 3
    if node.op in ("contains", "not_contains", "starts_with") and node.field == "message.body":
        return 2
    return 1


def _field_spec(name: Any, path: str) -> FieldSpec:
    if not isinstance(name, str):
        raise _fail("field is a string such as conversation.priority", path)
    spec = FIELDS.get(name)
    if spec is not None:
        return spec
    for prefix in CUSTOM_PREFIXES:
        if name.startswith(prefix):
            if not _CUSTOM_NAME.fullmatch(name[len(prefix) :]):
                raise _fail(f"{prefix}<name> needs a name of letters, digits, _ or -", path)
            return FieldSpec(name, "custom", "A custom field.")
    raise _fail(f"unknown field {name!r}", path)


def _leaf(raw: dict[str, Any], path: str) -> Condition:
    unknown = sorted(set(raw) - {"field", "op", "value"})
    if unknown:
        raise _fail(f"unknown key {unknown[0]!r} in a condition", f"{path}.{unknown[0]}")
    if "field" not in raw:
        raise _fail("a condition needs a field (or all, any, not)", f"{path}.field")
    spec = _field_spec(raw["field"], f"{path}.field")
    op = raw.get("op")
    if not isinstance(op, str) or op not in OPERATORS[spec.type]:
        allowed = ", ".join(sorted(OPERATORS[spec.type]))
        raise _fail(f"{spec.name} ({spec.type}) allows the operators: {allowed}", f"{path}.op")
    value_path = f"{path}.value"
    value = raw.get("value")
    if op in NO_VALUE_OPS:
        if value is not None:
            raise _fail(f"{op} takes no value", value_path)
        test = _no_value_test(spec, op)
    else:
        if "value" not in raw or value is None:
            raise _fail(f"{op} needs a value", value_path)
        test = _value_test(spec, op, value, value_path)
    return Condition("leaf", path, test, field=spec.name, op=op, value=value)


# --- leaves -------------------------------------------------------------------------------


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (frozenset, set, list, tuple, dict)):
        return not value
    return False


def _no_value_test(spec: FieldSpec, op: str) -> Test:
    name = spec.name
    if op == "is_set":
        return lambda f: not _is_empty(f.value(name))
    assert op == "is_empty", op
    return lambda f: _is_empty(f.value(name))


def _within_test(value: Any, path: str) -> Test:
    """``within_business_hours``: the value names one of the account's calendars (the
    business hours of routing and SLA policies); whether it is the account's is checked
    where rules are saved."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _fail("within_business_hours takes the id of a business-hours calendar", path)

    def within(facts: Facts) -> bool:
        now, ask = facts.now, facts.business_hours
        return now is not None and ask is not None and ask(value, now)

    return within


def calendars_named(condition: Condition) -> list[tuple[str, int]]:
    """The business-hours calendars a condition asks about, with the path of each."""
    found: list[tuple[str, int]] = []

    def walk(node: Condition) -> None:
        if node.op == "within_business_hours":
            found.append((f"{node.path}.value", int(node.value)))
        for child in node.children:
            walk(child)

    walk(condition)
    return found


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _scalar(spec: FieldSpec, value: Any, path: str) -> Any:
    """One checked, normalised operand of eq/ne/in/not_in for the field's type."""
    kind = spec.type
    if kind in ("text", "enum", "language"):
        if not isinstance(value, str) or not value:
            raise _fail(f"{spec.name} takes a non-empty text", path)
        if len(value) > MAX_VALUE_CHARS:
            raise _fail(f"a text value has at most {MAX_VALUE_CHARS} characters", path)
        if kind == "enum" and value not in spec.choices:
            raise _fail(f"{value!r} is not one of: {', '.join(spec.choices)}", path)
        if kind == "language":
            if not _LANGUAGE.fullmatch(value):
                raise _fail(f"{value!r} is not a language tag such as fr or pt-BR", path)
            return value.casefold()
        return value.casefold() if kind == "text" else value
    if kind == "number":
        if not _is_number(value):
            raise _fail(f"{spec.name} takes a number", path)
        return value
    if kind == "id":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise _fail(f"{spec.name} takes a positive integer id", path)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _fail(f"{spec.name} takes true or false", path)
        return value
    # custom: any scalar
    if isinstance(value, bool) or _is_number(value):
        return value
    if isinstance(value, str) and value and len(value) <= MAX_VALUE_CHARS:
        return value.casefold()
    raise _fail("a custom field compares with a text, a number or true/false", path)


def _text_list(spec: FieldSpec, value: Any, path: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _fail("takes a non-empty list", path)
    if len(value) > MAX_LIST_ITEMS:
        raise _fail(f"a list has at most {MAX_LIST_ITEMS} items", path)
    return [_scalar(spec, item, f"{path}.{i}") for i, item in enumerate(value)]


def _value_test(spec: FieldSpec, op: str, value: Any, path: str) -> Test:
    name, kind = spec.name, spec.type
    if kind == "tags":
        return _tags_test(name, op, value, path)
    if kind == "language":
        return _language_test(name, op, value, path, spec)
    if op == "within_business_hours":
        return _within_test(value, path)
    get = _getter(name)
    if op == "matches":
        search = check_regex(value, path).search
        memo_key = (name, value)

        def matches(facts: Facts) -> bool:
            # Rules often share a pattern: each is run at most once per event and text.
            memo = facts.memo
            found = memo.get(memo_key)
            if found is None:
                found = memo[memo_key] = isinstance(v := get(facts), str) and search(v) is not None
            return found

        return matches
    if op in ("gt", "gte", "lt", "lte"):
        return _order_test(spec, op, value, path)
    read: Callable[[Facts], Any]
    if kind == "text":
        read = lambda f: f.folded.get(name)  # noqa: E731 - folded once per event
    elif kind == "custom":
        read = lambda f: _fold(get(f))  # noqa: E731
    else:
        read = get
    if op in ("contains", "not_contains", "starts_with"):
        if not isinstance(value, str) or not value:
            raise _fail(f"{op} takes a non-empty text", path)
        if len(value) > MAX_VALUE_CHARS:
            raise _fail(f"a text value has at most {MAX_VALUE_CHARS} characters", path)
        needle = value.casefold()
        if op == "contains":
            return lambda f: isinstance(v := read(f), str) and needle in v
        if op == "not_contains":
            return lambda f: isinstance(v := read(f), str) and bool(v) and needle not in v
        return lambda f: isinstance(v := read(f), str) and v.startswith(needle)
    if kind != "custom":
        return _plain_test(spec, op, value, path, read)
    if op in ("eq", "ne"):
        key = _key(_scalar(spec, value, path))
        if op == "eq":
            return lambda f: (v := read(f)) is not None and _key(v) == key
        return lambda f: not _is_empty(v := read(f)) and _key(v) != key
    # in / not_in: a set, whatever the list's length
    keys = frozenset(_key(o) for o in _text_list(spec, value, path))
    if op == "in":
        return lambda f: (v := read(f)) is not None and _key(v) in keys
    return lambda f: not _is_empty(v := read(f)) and _key(v) not in keys


def _plain_test(
    spec: FieldSpec, op: str, value: Any, path: str, read: Callable[[Facts], Any]
) -> Test:
    """eq/ne/in/not_in on a typed field: its facts have the field's type, compare directly."""
    name = spec.name
    folded = spec.type == "text"
    if op in ("eq", "ne"):
        operand = _scalar(spec, value, path)
        if op == "eq":
            if folded:
                return lambda f: f.folded.get(name) == operand
            return lambda f: f.values.get(name) == operand
        return lambda f: not _is_empty(v := read(f)) and v != operand
    operands = frozenset(_text_list(spec, value, path))
    if op == "in":
        if folded:
            return lambda f: f.folded.get(name) in operands
        return lambda f: f.values.get(name) in operands
    return lambda f: not _is_empty(v := read(f)) and v not in operands


def _getter(name: str) -> Callable[[Facts], Any]:
    """How a test reads its field: a dict look-up, or a custom field's mapping."""
    if name.startswith("conversation.custom."):
        key = name[len("conversation.custom.") :]
        return lambda f: _bounded_any(f.conversation.custom.get(key))
    if name.startswith("contact.attribute."):
        key = name[len("contact.attribute.") :]
        return lambda f: None if f.contact is None else _bounded_any(f.contact.attributes.get(key))
    return lambda f: f.values.get(name)


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _key(value: Any) -> tuple[bool, Any]:
    # True == 1 in Python; a bool fact never equals a numeric operand, nor the reverse.
    return (type(value) is bool, value)


def _tags_test(name: str, op: str, value: Any, path: str) -> Test:
    def tag(item: Any, where: str) -> str:
        if not isinstance(item, str) or not item or len(item) > MAX_VALUE_CHARS:
            raise _fail("a tag is a non-empty text", where)
        return item.casefold()

    if op in ("contains", "not_contains"):
        wanted = tag(value, path)
        if op == "contains":
            return lambda f: wanted in f.values[name]
        return lambda f: bool(tags := f.values[name]) and wanted not in tags
    if not isinstance(value, list) or not value:
        raise _fail(f"{op} takes a non-empty list of tags", path)
    if len(value) > MAX_LIST_ITEMS:
        raise _fail(f"a list has at most {MAX_LIST_ITEMS} items", path)
    wanted_set = frozenset(tag(item, f"{path}.{i}") for i, item in enumerate(value))
    if op == "has_any":
        return lambda f: not wanted_set.isdisjoint(f.values[name])
    return lambda f: wanted_set <= f.values[name]


def _language_test(name: str, op: str, value: Any, path: str, spec: FieldSpec) -> Test:
    operands = [_scalar(spec, value, path)] if op in ("eq", "ne") else _text_list(spec, value, path)
    primaries = frozenset(operands)

    def matches(language: str) -> bool:
        # "fr" matches "fr" and "fr-ca"; "fr-ca" matches only itself.
        return language in primaries or language.split("-", 1)[0] in primaries

    if op in ("eq", "in"):
        return lambda f: isinstance(v := f.values.get(name), str) and matches(v)
    return lambda f: isinstance(v := f.values.get(name), str) and not matches(v)


def _order_test(spec: FieldSpec, op: str, value: Any, path: str) -> Test:
    name = spec.name
    operand: Any
    if spec.type == "datetime":
        if not isinstance(value, str):
            raise _fail("takes an ISO 8601 instant with its offset", path)
        try:
            operand = datetime.fromisoformat(value)
        except ValueError as exc:
            raise _fail("takes an ISO 8601 instant with its offset", path) from exc
        if operand.tzinfo is None:
            raise _fail("the instant needs its offset (Z or +01:00)", path)
        kinds: tuple[type, ...] = (datetime,)
    else:
        if not _is_number(value):
            raise _fail(f"{op} takes a number", path)
        operand = value
        kinds = (int, float)

    def usable(v: Any) -> bool:
        return isinstance(v, kinds) and type(v) is not bool

    get = _getter(name)
    if spec.type != "custom":
        # A typed field's fact has the field's type (time.hour an int, time.now a datetime).
        if op == "gt":
            return lambda f: (v := f.values.get(name)) is not None and v > operand
        if op == "gte":
            return lambda f: (v := f.values.get(name)) is not None and v >= operand
        if op == "lt":
            return lambda f: (v := f.values.get(name)) is not None and v < operand
        return lambda f: (v := f.values.get(name)) is not None and v <= operand
    if op == "gt":
        return lambda f: usable(v := get(f)) and v > operand
    if op == "gte":
        return lambda f: usable(v := get(f)) and v >= operand
    if op == "lt":
        return lambda f: usable(v := get(f)) and v < operand
    return lambda f: usable(v := get(f)) and v <= operand


# --- regexes ------------------------------------------------------------------------------

_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT}


def check_regex(pattern: Any, path: str) -> re.Pattern[str]:
    """Compile a ``matches`` pattern, refusing those that may backtrack catastrophically.

    The static check walks the parsed pattern (``re._parser``) and refuses, inside any
    quantifier that may repeat (max > 1):

    * a nested quantifier of variable length (``(a+)+``, ``(.*a){20}``, ``(a?)*``); fixed
      counts such as ``(\\d{3}-)+`` are allowed;
    * an alternation whose branches may begin with the same character or match nothing
      (``(a|aa)+``, ``(a|ab)*``, ``(|a)+``), judged by each branch's first characters
      (a class like ``\\w`` or ``.`` overlaps everything);
    * a backreference.

    Limits: it is conservative (it refuses some harmless patterns: rewrite them, e.g. with
    a possessive ``++`` or an atomic group, which the check accepts) and it does not see
    polynomial backtracking such as ``.*a.*a.*a`` on a text without ``a``. That cost is
    bounded instead: a condition sees the first ``MAX_TEXT_CHARS`` characters of a text,
    and a pattern has at most ``MAX_PATTERN_CHARS`` characters.
    """
    if not isinstance(pattern, str) or not pattern:
        raise _fail("matches takes a regular expression", path)
    if len(pattern) > MAX_PATTERN_CHARS:
        raise _fail(f"a regular expression has at most {MAX_PATTERN_CHARS} characters", path)
    try:
        parsed = sre_parse.parse(pattern)
        compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise _fail(f"the regular expression does not compile: {exc}", path) from exc
    problem = _catastrophe(list(parsed), under_repeat=False)
    if problem:
        raise _fail(f"the regular expression may take exponential time: {problem}", path)
    return compiled


def _children(op: Any, av: Any) -> list[list[Any]]:
    """The sub-patterns of one parsed item."""
    if op == sre.SUBPATTERN:
        return [list(av[3])]
    if op in _REPEATS or op == sre.POSSESSIVE_REPEAT:
        return [list(av[2])]
    if op == sre.BRANCH:
        return [list(alt) for alt in av[1]]
    if op == sre.ATOMIC_GROUP:
        return [list(av)]
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [list(av[1])]
    if op == sre.GROUPREF_EXISTS:
        return [list(p) for p in av[1:] if p is not None]
    return []


def _catastrophe(items: list[Any], *, under_repeat: bool) -> str | None:
    for op, av in items:
        if op in (sre.GROUPREF, sre.GROUPREF_EXISTS) and under_repeat:
            return "a backreference inside a repeated group"
        if op in (sre.POSSESSIVE_REPEAT, sre.ATOMIC_GROUP):
            continue  # no backtracking into them
        if op in _REPEATS:
            low, high = av[0], av[1]
            if under_repeat and low != high:
                return "a quantifier inside a repeated group"
            repeats = high == sre.MAXREPEAT or high > 1
            found = _catastrophe(list(av[2]), under_repeat=under_repeat or repeats)
            if found:
                return found
            continue
        if op == sre.BRANCH and under_repeat:
            firsts = [_first(list(alt)) for alt in av[1]]
            for i, a in enumerate(firsts):
                for b in firsts[i + 1 :]:
                    if a is None or b is None or a & b:
                        return "alternatives that overlap inside a repeated group"
        for child in _children(op, av):
            found = _catastrophe(child, under_repeat=under_repeat)
            if found:
                return found
    return None


def _first(items: list[Any]) -> frozenset[int] | None:
    """The characters a sub-pattern may begin with; None: unknown, empty or any."""
    if not items:
        return None
    op, av = items[0]
    if op == sre.LITERAL:
        return _cased(av)
    if op == sre.IN:
        chars: set[int] = set()
        for sub_op, sub_av in av:
            if sub_op != sre.LITERAL:
                return None
            chars |= _cased(sub_av)
        return frozenset(chars)
    if op == sre.SUBPATTERN:
        return _first(list(av[3]))
    if op in _REPEATS and av[0] >= 1:
        return _first(list(av[2]))
    return None


def _cased(code: int) -> frozenset[int]:
    char = chr(code)
    return frozenset({ord(c) for c in (char, char.lower(), char.upper()) if len(c) == 1})


# --- many rules at once -------------------------------------------------------------------

#: Fields a rule may be indexed on: equality with a few values is necessary for it to match.
_INDEXED_TYPES = frozenset({"enum", "id"})


class ConditionIndex:
    """Many conditions (an account's active rules) evaluated against one event.

    Each condition whose top-level ``all`` (or the leaf itself) holds an ``eq``/``in`` on an
    enum, id or text field, or a ``contains``/``has_any``/``has_all`` on the tags, is filed under
    those values: an event only evaluates the conditions filed under its own values, plus the
    ones that could not be filed. The result is exactly ``[i for i, c in enumerate(conditions)
    if evaluate(c, facts)]``, just cheaper.
    """

    def __init__(self, conditions: Sequence[Condition]) -> None:
        self.conditions = tuple(conditions)
        self._unfiled: list[int] = []
        self._filed: dict[str, dict[Any, list[int]]] = {}
        for i, condition in enumerate(self.conditions):
            guard = _guard(condition)
            if guard is None:
                self._unfiled.append(i)
                continue
            name, values = guard
            by_value = self._filed.setdefault(name, {})
            for value in values:
                by_value.setdefault(value, []).append(i)

    def matching(self, facts: Facts) -> list[int]:
        """The positions of the conditions that match, in order."""
        folded_text = _TEXT_FIELDS
        candidates = set(self._unfiled)
        values, folded = facts.values, facts.folded
        for name, by_value in self._filed.items():
            fact = folded.get(name) if name in folded_text else values.get(name)
            if name == "conversation.tags":
                for tag in fact or ():
                    candidates.update(by_value.get(tag, ()))
            elif fact is not None:
                candidates.update(by_value.get(fact, ()))
        conditions = self.conditions
        return [i for i in sorted(candidates) if conditions[i].test(facts)]


def _guard(condition: Condition) -> tuple[str, frozenset[Any]] | None:
    """A (field, values) that a fact must hit for the condition to match; the narrowest."""
    leaves = condition.children if condition.kind == "all" else (condition,)
    best: tuple[str, frozenset[Any]] | None = None
    for leaf in leaves:
        if leaf.kind != "leaf" or leaf.field is None:
            continue
        spec = FIELDS.get(leaf.field)
        if spec is None:
            continue
        values: frozenset[Any] | None = None
        if spec.type in _INDEXED_TYPES and leaf.op == "eq":
            values = frozenset((leaf.value,))
        elif spec.type in _INDEXED_TYPES and leaf.op == "in":
            values = frozenset(leaf.value)
        elif spec.type == "text" and leaf.op == "eq":
            values = frozenset((leaf.value.casefold(),))
        elif spec.type == "text" and leaf.op == "in":
            values = frozenset(v.casefold() for v in leaf.value)
        elif spec.type == "tags" and leaf.op == "contains":
            values = frozenset((leaf.value.casefold(),))
        elif spec.type == "tags" and leaf.op in ("has_any", "has_all"):
            values = frozenset(v.casefold() for v in leaf.value)
        if values is not None and (best is None or len(values) < len(best[1])):
            best = (spec.name, values)
    return best
