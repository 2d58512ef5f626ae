"""An Instagram inbox's configuration (its secrets are Messenger's: ``PlatformSecrets``)."""

from __future__ import annotations

from pydantic import Field

from omnidesk.channels.messenger.schemas import GRAPH_ID, WindowConfig


class InstagramConfig(WindowConfig):
    instagram_account_id: str = Field(
        pattern=GRAPH_ID,
        description="The Instagram professional account's id (webhooks name it as entry.id).",
        examples=["17841400000000000"],
    )
    page_id: str = Field(
        pattern=GRAPH_ID,
        description="The Facebook Page linked to the Instagram account (replies go through it).",
        examples=["104912345678901"],
    )
