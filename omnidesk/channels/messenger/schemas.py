"""A Messenger or Instagram inbox's configuration and secrets.

The secrets come from the Meta app (``app_secret``: Settings → Basic) and the Page
(``page_access_token``: a long-lived Page token with ``pages_messaging``, and
``instagram_manage_messages`` for Instagram). ``verify_token`` is the word typed into the
app's webhook settings; omnidesk generates one when none is given and shows it once.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnidesk.kit.security import new_token

#: Meta's object ids are decimal numbers (kept as text: they exceed JavaScript's integers).
GRAPH_ID = r"^[0-9]{1,32}$"


def new_verify_token() -> str:
    return new_token("vt_", 24)


class PlatformSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page_access_token: str | None = Field(
        default=None,
        min_length=20,
        repr=False,
        max_length=1000,
        description="A long-lived Page access token (Send API, profile and media calls).",
    )
    app_secret: str | None = Field(
        default=None,
        min_length=16,
        repr=False,
        max_length=200,
        description="The Meta app's secret: webhooks are signed with it (X-Hub-Signature-256).",
    )
    verify_token: str = Field(
        default_factory=new_verify_token,
        min_length=8,
        repr=False,
        max_length=200,
        description="Typed into the app's webhook settings; generated when not given.",
    )


class WindowConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    human_agent_tag: bool = Field(
        default=False,
        description=(
            "Answer up to 7 days after the customer's last message with the HUMAN_AGENT tag "
            "(the app needs Meta's Human Agent permission) instead of refusing after 24 hours."
        ),
    )


class MessengerConfig(WindowConfig):
    page_id: str = Field(
        pattern=GRAPH_ID, description="The Facebook Page's id.", examples=["104912345678901"]
    )
