"""Filling in canned responses' variables: pure, no database."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from omnidesk.automation import templates


def _values(**overrides: object) -> dict[str, str]:
    base: dict[str, object] = {
        "contact_name": "Carla  Customer",
        "contact_email": "carla@example.com",
        "contact_attributes": {"plan": "gold", "seats": 12.0, "vip": True, "tags": ["a", "b"]},
        "agent_name": "Ann Agent",
        "conversation_id": 42,
    }
    base.update(overrides)
    return templates.values_for(**base)  # type: ignore[arg-type]


def test_every_variable_is_filled_in() -> None:
    body = (
        "Hi {{contact.first_name}} ({{ contact.name }}, {{contact.email}}), "
        "#{{conversation.id}} on {{contact.attributes.plan}} with {{contact.attributes.seats}} "
        "seats, vip {{contact.attributes.vip}}, {{contact.attributes.tags}}. {{agent.name}}"
    )
    rendered = templates.render(body, _values())
    assert rendered.text == (
        "Hi Carla (Carla  Customer, carla@example.com), #42 on gold with 12 seats, vip yes, "
        "a, b. Ann Agent"
    )
    assert rendered.missing == []


def test_missing_values_become_empty_and_are_reported() -> None:
    values = _values(contact_name="", contact_email=None, contact_attributes={})
    rendered = templates.render(
        "Hi {{contact.first_name}}, {{contact.attributes.plan}}{{contact.email}}!", values
    )
    assert rendered.text == "Hi , !"
    assert rendered.missing == ["contact.first_name", "contact.attributes.plan", "contact.email"]


def test_values_are_inserted_as_text_never_read_again() -> None:
    values = _values(contact_name="{{agent.name}} {% for x in y %}{{7*7}}")
    rendered = templates.render("Dear {{contact.name}}", values)
    assert rendered.text == "Dear {{agent.name}} {% for x in y %}{{7*7}}"


def test_template_language_syntax_is_unknown_not_run() -> None:
    body = "{{ 7*7 }} {{contact.__class__}} {{contact.attributes.}} {% if x %} {{agent.name}}"
    assert templates.unknown_variables(body) == ["7*7", "contact.__class__", "contact.attributes."]
    rendered = templates.render(body, _values())
    assert rendered.text == "   {% if x %} Ann Agent"


def test_unclosed_braces_stay_as_written() -> None:
    rendered = templates.render("{{contact.name and {{ more", _values())
    assert rendered.text == "{{contact.name and {{ more"


@given(st.text(max_size=200), st.dictionaries(st.text(max_size=20), st.text(max_size=20)))
def test_rendering_any_body_never_fails(body: str, attributes: dict[str, str]) -> None:
    rendered = templates.render(body, _values(contact_attributes=attributes))
    assert set(rendered.missing) <= set(templates.variables_in(body))
