"""The Instagram messaging channel: an Instagram professional account's direct messages,
through the Messenger Platform and its linked Facebook Page (see
``channels/messenger/platform.py``, shared with Messenger).

Replies are text only: the Send API takes Instagram files by public URL, and omnidesk does
not publish agents' files on the web.
"""

from __future__ import annotations

from typing import ClassVar

import httpx
from pydantic import BaseModel

from omnidesk.channels.base import AdapterContext, Capabilities, CheckResult
from omnidesk.channels.instagram.schemas import InstagramConfig
from omnidesk.channels.messenger.platform import PlatformChannel
from omnidesk.kit.clock import Clock


class InstagramChannel(PlatformChannel):
    name: ClassVar[str] = "instagram"
    product: ClassVar[str] = "Instagram"
    capabilities: ClassVar[Capabilities] = Capabilities(read_receipts=True, reply_window_hours=24)
    config_schema: ClassVar[type[BaseModel]] = InstagramConfig
    inbound_path: ClassVar[str] = "/api/v1/webhooks/instagram/{inbox_id}"
    reply_identity_kinds: ClassVar[tuple[str, ...]] = ("instagram",)
    webhook_object: ClassVar[str] = "instagram"
    identity_kind: ClassVar[str] = "instagram"
    #: Instagram counts a message's text in UTF-8 bytes.
    max_text: ClassVar[int] = 1000
    text_in_bytes: ClassVar[bool] = True
    unique_key: ClassVar[str] = "instagram_account_id"

    def __init__(
        self,
        context: AdapterContext,
        *,
        graph_url: str | None = None,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        config = InstagramConfig.model_validate(context.config)
        self.account_id = config.instagram_account_id
        self.page_id = config.page_id
        self.human_agent_tag = config.human_agent_tag
        super().__init__(context, graph_url=graph_url, clock=clock, transport=transport)

    async def account_check(self) -> CheckResult:
        found = await self._lookup("Instagram account", self.account_id, "id,username,name")
        if isinstance(found, CheckResult):
            return found
        return CheckResult(
            "Instagram account", True, f"@{found.get('username', '?')} ({found.get('id')})"
        )
