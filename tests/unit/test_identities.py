from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnidesk.contacts.models import IDENTITY_KINDS, AttributeDefinition
from omnidesk.contacts.service import normalise_identity, validate_attributes
from omnidesk.kit.errors import ValidationFailed

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


@pytest.mark.parametrize(
    ("kind", "value", "region", "expected"),
    [
        ("email", "  Jane.Doe@Example.COM ", "US", "jane.doe@example.com"),
        ("email", "a@xn--bcher-kva.de", "US", "a@bücher.de"),
        ("phone", "+44 20 7946 0958", "US", "+442079460958"),
        ("phone", "(415) 555-2671", "US", "+14155552671"),
        ("phone", "020 7946 0958", "GB", "+442079460958"),
        ("phone", "+1 (415) 555-2671", "GB", "+14155552671"),
        ("phone", "(415) 555-2671", "us", "+14155552671"),
        ("whatsapp", "+44 7911 123456", "US", "+447911123456"),
        ("whatsapp", "447911123456", "US", "+447911123456"),
        ("whatsapp", "(415) 555-2671", "US", "+14155552671"),
        ("telegram", "  123456789\n", "US", "123456789"),
        ("external", "CRM-42", "US", "CRM-42"),
    ],
)
def test_normalises_each_kind(kind: str, value: str, region: str, expected: str) -> None:
    assert normalise_identity(kind, value, region) == expected


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        ("email", "not an email", "value"),
        ("email", "someone@localhost", "value"),
        ("phone", "12", "value"),
        ("phone", "+1 555 0000", "value"),
        ("phone", "call me maybe", "value"),
        ("whatsapp", "", "value"),
        ("webchat", "   ", "value"),
        ("webchat", "a\x00b", "value"),
        ("messenger", "\ud800", "value"),
        ("external", "x" * 321, "value"),
        ("fax", "+14155552671", "kind"),
    ],
)
def test_refuses_invalid_values(kind: str, value: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        normalise_identity(kind, value, "US")
    assert refused.value.field == field


def test_phone_without_country_code_needs_a_valid_region() -> None:
    with pytest.raises(ValidationFailed):
        normalise_identity("phone", "4155552671", "XX")


def _normalised_or_none(kind: str, value: str, region: str) -> str | None:
    try:
        return normalise_identity(kind, value, region)
    except ValidationFailed:
        return None


@given(
    kind=st.sampled_from(IDENTITY_KINDS),
    value=st.text(max_size=60),
    region=st.sampled_from(REGIONS),
)
def test_normalising_is_idempotent_on_any_text(kind: str, value: str, region: str) -> None:
    once = _normalised_or_none(kind, value, region)
    if once is not None:
        assert normalise_identity(kind, once, region) == once


label = st.text(
    alphabet=st.characters(categories=["Lu", "Ll", "Lt", "Lo", "Nd", "Mn"]),
    min_size=1,
    max_size=12,
)
unicode_emails = st.builds(
    "{}@{}.{}".format, label, label, st.sampled_from(["com", "DE", "рф", "İo"])
)


@given(
    address=st.one_of(st.emails(), unicode_emails),
    upper=st.booleans(),
    pad=st.sampled_from(["", " ", "\t "]),
)
def test_email_normalising_is_idempotent(address: str, upper: bool, pad: str) -> None:
    once = _normalised_or_none("email", pad + (address.upper() if upper else address) + pad, "US")
    if once is not None:
        assert once == once.lower()
        assert normalise_identity("email", once, "US") == once


phone_like = st.text(alphabet="0123456789 +-().", min_size=1, max_size=20)


@given(
    kind=st.sampled_from(["phone", "whatsapp"]),
    value=phone_like,
    region=st.sampled_from(REGIONS),
    other_region=st.sampled_from(REGIONS),
)
def test_phone_normalising_is_idempotent_in_any_region(
    kind: str, value: str, region: str, other_region: str
) -> None:
    once = _normalised_or_none(kind, value, region)
    if once is not None:
        assert once.startswith("+")
        # E.164 carries its country code, so the region no longer matters.
        assert normalise_identity(kind, once, other_region) == once


@given(
    region=st.sampled_from(REGIONS),
    style=st.sampled_from(
        [phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL]
    ),
)
def test_every_regions_example_number_becomes_its_e164(region: str, style: int) -> None:
    example = phonenumbers.example_number(region)
    if example is None:
        return
    written = phonenumbers.format_number(example, style)
    expected = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    assert normalise_identity("phone", written, region) == expected


# Custom attributes ----------------------------------------------------------------------


def _definition(key: str, type_: str, options: list[str] | None = None) -> AttributeDefinition:
    return AttributeDefinition(
        account_id=1,
        applies_to="contact",
        key=key,
        label=key.title(),
        type=type_,
        options=options or [],
        created_at=datetime.now(UTC),
    )


DEFINITIONS = [
    _definition("plan", "list", ["free", "pro"]),
    _definition("seats", "number"),
    _definition("renewal", "date"),
    _definition("vip", "boolean"),
    _definition("site", "url"),
    _definition("notes", "text"),
]


def test_valid_attributes_are_cleaned() -> None:
    values = {
        "plan": "pro",
        "seats": 12,
        "renewal": "2026-03-01",
        "vip": True,
        "site": "https://acme.example.com/x",
        "notes": "likes tea",
        "gone": None,
    }
    assert validate_attributes(DEFINITIONS, values, "contact") == values


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("plan", "enterprise"),
        ("seats", "12"),
        ("seats", True),
        ("seats", float("nan")),
        ("renewal", "2026-02-30"),
        ("renewal", "20260301"),
        ("renewal", 20260301),
        ("vip", "yes"),
        ("site", "ftp://acme.example.com"),
        ("site", "javascript:alert(1)"),
        ("site", "https://"),
        ("notes", ["a"]),
        ("notes", "a\x00b"),
        ("notes", "\ud800"),
        ("site", "https://acme.example/\ud800"),
        ("unknown", "x"),
    ],
)
def test_invalid_attribute_names_its_field(key: str, value: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        validate_attributes(DEFINITIONS, {key: value}, "contact")
    assert refused.value.field == f"attributes.{key}"


def test_definitions_of_the_other_kind_do_not_apply() -> None:
    with pytest.raises(ValidationFailed) as refused:
        validate_attributes(DEFINITIONS, {"plan": "pro"}, "conversation", field_prefix="fields")
    assert refused.value.field == "fields.plan"
