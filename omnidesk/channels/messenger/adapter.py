"""The Facebook Messenger channel: a Facebook Page's conversations (see ``platform.py``)."""

from __future__ import annotations

from typing import ClassVar

import httpx
from pydantic import BaseModel

from omnidesk.channels.base import AdapterContext, Capabilities, CheckResult
from omnidesk.channels.messenger.platform import PlatformChannel
from omnidesk.channels.messenger.schemas import MessengerConfig
from omnidesk.kit.clock import Clock


class MessengerChannel(PlatformChannel):
    name: ClassVar[str] = "messenger"
    product: ClassVar[str] = "Messenger"
    capabilities: ClassVar[Capabilities] = Capabilities(
        attachments=True,
        max_attachment_bytes=25 * 1024 * 1024,
        read_receipts=True,
        reply_window_hours=24,
    )
    config_schema: ClassVar[type[BaseModel]] = MessengerConfig
    inbound_path: ClassVar[str] = "/api/v1/webhooks/messenger/{inbox_id}"
    reply_identity_kinds: ClassVar[tuple[str, ...]] = ("messenger",)
    webhook_object: ClassVar[str] = "page"
    identity_kind: ClassVar[str] = "messenger"
    max_text: ClassVar[int] = 2000
    unique_key: ClassVar[str] = "page_id"

    def __init__(
        self,
        context: AdapterContext,
        *,
        graph_url: str | None = None,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        config = MessengerConfig.model_validate(context.config)
        self.account_id = self.page_id = config.page_id
        self.human_agent_tag = config.human_agent_tag
        super().__init__(context, graph_url=graph_url, clock=clock, transport=transport)

    async def account_check(self) -> CheckResult:
        found = await self._lookup("Page", self.page_id, "id,name")
        if isinstance(found, CheckResult):
            return found
        return CheckResult("Page", True, f"{found.get('name', '?')} ({found.get('id')})")
