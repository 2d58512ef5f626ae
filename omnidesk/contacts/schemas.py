from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from omnidesk.contacts.models import AttributeType, IdentityKind
from omnidesk.kit.types import RowId, Text, clean_text

AppliesTo = Literal["contact", "conversation"]


Scalar = str | bool | int | float | None


def _no_nul_in(attributes: dict[str, Scalar]) -> dict[str, Scalar]:
    for key, value in attributes.items():
        clean_text(key)
        if isinstance(value, str):
            clean_text(value)
    return attributes


CompanyAttributes = Annotated[dict[str, Scalar], AfterValidator(_no_nul_in)]


class IdentityIn(BaseModel):
    kind: IdentityKind
    value: Text = Field(min_length=1, max_length=320)


class IdentityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    value: str
    verified: bool
    consent: Literal["opt_out", "opt_in"] | None = Field(
        default=None,
        description="The customer's last word on messages to this handle (SMS STOP / START); "
        "`opt_out`: nothing is sent to it.",
    )
    consent_at: datetime | None = None
    created_at: datetime


class CompanyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    domain: str | None
    attributes: dict[str, Any]
    created_at: datetime


class CompanyCreate(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)

    name: Text = Field(min_length=1, max_length=200)
    domain: Text | None = Field(default=None, max_length=255)
    attributes: CompanyAttributes = Field(default={}, max_length=100)


class CompanyUpdate(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    domain: Text | None = Field(default=None, max_length=255)
    attributes: CompanyAttributes | None = Field(default=None, max_length=100)


class ContactOut(BaseModel):
    id: int
    name: str
    company_id: int | None
    company: CompanyOut | None
    attributes: dict[str, Any]
    identities: list[IdentityOut]
    merged_into_id: int | None = Field(
        description="Set when this contact was merged into another one: follow it."
    )
    created_at: datetime
    updated_at: datetime


class ContactCreate(BaseModel):
    name: Text = Field(default="", max_length=200)
    identities: list[IdentityIn] = Field(default=[], max_length=50)
    attributes: dict[str, Any] = Field(
        default={}, max_length=200, description="Keys must be defined attribute definitions."
    )
    company_id: RowId | None = None


class ContactUpdate(BaseModel):
    name: Text | None = Field(default=None, max_length=200)
    attributes: dict[str, Any] | None = Field(
        default=None,
        max_length=200,
        description="Merged into the current values; a key set to null is removed.",
    )
    company_id: RowId | None = Field(default=None, description="null detaches the company.")


class MergeIn(BaseModel):
    contact_id: RowId = Field(description="The contact merged into the one in the path.")


class ContactMergeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    survivor_id: int
    merged_id: int
    moved: dict[str, Any] = Field(
        description="identity_ids, conversation_ids, event_ids and attribute_keys moved."
    )
    actor_user_id: int | None
    created_at: datetime
    undone_at: datetime | None


class AttributeDefinitionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    applies_to: str
    key: str
    label: str
    type: str
    options: list[str]
    required_on_resolve: bool
    created_at: datetime


class AttributeDefinitionCreate(BaseModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    label: Text = Field(min_length=1, max_length=200)
    type: AttributeType
    options: list[Annotated[Text, Field(min_length=1, max_length=200)]] = Field(
        default=[], max_length=500, description="The allowed values of a `list` attribute."
    )
    applies_to: AppliesTo = "contact"
    required_on_resolve: bool = Field(
        default=False,
        description="Conversation fields only: agents must fill it in before resolving.",
    )


class AttributeDefinitionUpdate(BaseModel):
    label: Text | None = Field(default=None, min_length=1, max_length=200)
    options: list[Annotated[Text, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=500
    )
    required_on_resolve: bool | None = None
