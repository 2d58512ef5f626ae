"""The SMS inbox's configuration and secrets.

An SMS inbox sends from one Twilio phone number, or through a Messaging Service (which picks
a number of its pool, and handles opt-outs and A2P 10DLC campaigns), or names both (the
Messaging Service sends; the number is what the admin sees). The Account SID and Auth Token
are secrets: the Auth Token is what Twilio signs its webhooks with, so it is required even
when REST calls use an API key.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omnidesk.contacts.service import normalise_identity
from omnidesk.kit.errors import ValidationFailed


class SmsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone_number: str | None = Field(
        default=None,
        description="The Twilio number customers text, in E.164 (+14155550100).",
        examples=["+14155550100"],
        max_length=32,
    )
    messaging_service_sid: str | None = Field(
        default=None,
        pattern=r"^MG[0-9a-fA-F]{32}$",
        description="Send through this Messaging Service instead of the number alone.",
    )

    @field_validator("phone_number")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip().startswith("+"):
            raise ValueError("give the number in E.164, with its country code (+14155550100)")
        try:
            return normalise_identity("phone", value)
        except ValidationFailed:
            raise ValueError("not a valid phone number") from None

    @model_validator(mode="after")
    def _a_sender(self) -> SmsConfig:
        if self.phone_number is None and self.messaging_service_sid is None:
            raise ValueError("give the phone_number, the messaging_service_sid, or both")
        return self


class SmsSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$", description="The Twilio Account SID.")
    auth_token: str = Field(
        min_length=16,
        max_length=128,
        description="The account's Auth Token: Twilio signs webhooks with it.",
    )
    api_key_sid: str | None = Field(
        default=None,
        pattern=r"^SK[0-9a-fA-F]{32}$",
        description="Optional: call the REST API with this API key instead of the Auth Token.",
    )
    api_key_secret: str | None = Field(default=None, min_length=16, max_length=128)

    @model_validator(mode="after")
    def _key_pair(self) -> SmsSecrets:
        if (self.api_key_sid is None) != (self.api_key_secret is None):
            raise ValueError("give both api_key_sid and api_key_secret, or neither")
        return self

    def rest_auth(self) -> tuple[str, str]:
        """The basic-auth pair for REST calls: the API key when there is one."""
        if self.api_key_sid is not None and self.api_key_secret is not None:
            return self.api_key_sid, self.api_key_secret
        return self.account_sid, self.auth_token
