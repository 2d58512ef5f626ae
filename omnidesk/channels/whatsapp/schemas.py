"""The WhatsApp inbox's configuration and secrets, and its message templates' API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from omnidesk.kit.types import Text

_GRAPH_ID = r"^[0-9]{1,32}$"


class WhatsappConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone_number_id: str = Field(
        pattern=_GRAPH_ID,
        description="The phone number's id in WhatsApp Manager (not the number itself): "
        "messages are sent from it and webhooks name it.",
        examples=["106540352242922"],
    )
    business_account_id: str = Field(
        pattern=_GRAPH_ID,
        description="The WhatsApp Business Account (WABA) id: its message templates are synced.",
        examples=["102290129340398"],
    )
    display_number: str = Field(
        default="",
        max_length=32,
        description="The number customers see, for the admin's eyes only.",
        examples=["+1 555-010-0199"],
    )


class WhatsappSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_token: str = Field(
        min_length=1,
        max_length=1024,
        description="A system user's permanent token with whatsapp_business_messaging and "
        "whatsapp_business_management.",
    )
    app_secret: str = Field(
        min_length=1,
        max_length=256,
        description="The Meta app's secret: webhooks are signed with it (X-Hub-Signature-256).",
    )
    verify_token: str = Field(
        min_length=1,
        max_length=256,
        description="Any string you choose, typed again in the app's webhook settings.",
    )


# Message templates ------------------------------------------------------------------------


class TemplateOut(BaseModel):
    id: int
    name: str
    language: str = Field(examples=["en_US"])
    status: str = Field(description="Meta's review state; only APPROVED templates can be sent.")
    category: str = Field(examples=["UTILITY"])
    usable: bool = Field(description="Approved, and of a kind omnidesk can send.")
    unusable_reason: str | None = Field(description="Why it cannot be sent, when it cannot.")
    variables: list[str] = Field(
        description="What must be filled, as `<component>.<name>`: `body.1`, `header.1`…",
        examples=[["body.1", "body.2"]],
    )
    text: str = Field(description="The template's text with its `{{1}}` placeholders.")
    components: list[dict[str, Any]] = Field(description="Meta's components, as synced.")
    synced_at: datetime


class TemplateSyncOut(BaseModel):
    fetched: int = Field(description="Templates (one per language) Meta returned.")
    usable: int = Field(description="Of those, how many can be sent.")
    removed: int = Field(description="Templates no longer at Meta, deleted here.")


class TemplateChoice(BaseModel):
    name: Text = Field(min_length=1, max_length=512, examples=["order_update"])
    language: Text = Field(min_length=1, max_length=16, examples=["en_US"])
    variables: dict[Annotated[str, StringConstraints(max_length=80)], Text] = Field(
        default={},
        max_length=100,
        description="A value for each of the template's variables, keyed `body.1`, "
        "`header.1`… (see `variables` on the template).",
        examples=[{"body.1": "Ada", "body.2": "#1042"}],
    )


class TemplatePreview(BaseModel):
    text: str = Field(description="What the customer will read.")
