"""The adapter's send against the fake Bot API, without the outbox: reply threading and
the refusals' mapping."""

from __future__ import annotations

from typing import Any

import pytest

from omnidesk.channels.base import AdapterContext, DeliveryFailed, Outbound
from omnidesk.channels.telegram.adapter import TelegramChannel
from omnidesk.settings import Settings
from tests.channels.telegram.conftest import SECRET
from tests.channels.telegram.fake import TOKEN, FakeBotApi, Refusal


def _adapter(settings: Settings, token: str = TOKEN) -> TelegramChannel:
    context = AdapterContext(
        inbox_id=7,
        account_id=1,
        config={},
        secrets={"bot_token": token, "webhook_secret": SECRET},
        public_url="https://desk.example.com",
        provider_urls={"telegram": settings.telegram_api_url},
    )
    return TelegramChannel(context)


def _outbound(body: str = "Sure", **meta: Any) -> Outbound:
    return Outbound(
        message_id=1,
        conversation_id=1,
        idempotency_key="message:1",
        recipient_kind="telegram",
        recipient="987654321",
        body=body,
        meta=meta,
    )


async def test_a_reply_to_one_message_threads_under_it(
    settings: Settings, bot_api: FakeBotApi
) -> None:
    delivery = await _adapter(settings).send(_outbound(reply_to="987654321:1373"))
    assert delivery.channel_message_id == "987654321:101"
    [call] = bot_api.sent()
    assert call.params["reply_parameters"] == {
        "message_id": 1373,
        "allow_sending_without_reply": True,
    }


async def test_a_reply_to_another_chats_message_is_sent_unthreaded(
    settings: Settings, bot_api: FakeBotApi
) -> None:
    await _adapter(settings).send(_outbound(reply_to="555:12"))
    [call] = bot_api.sent()
    assert "reply_parameters" not in call.params


async def test_a_rate_limit_is_transient_and_keeps_telegrams_wait(
    settings: Settings, bot_api: FakeBotApi
) -> None:
    bot_api.refusals.append(
        Refusal("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    )
    with pytest.raises(DeliveryFailed) as failed:
        await _adapter(settings).send(_outbound())
    assert (failed.value.permanent, failed.value.reason) == (False, "rate_limited")
    assert "(retry after 7 s)" in str(failed.value)


async def test_the_token_never_shows_in_a_failure(settings: Settings, bot_api: FakeBotApi) -> None:
    await bot_api.stop()  # connection refused: httpx's error would name the URL
    with pytest.raises(DeliveryFailed) as failed:
        await _adapter(settings).send(_outbound())
    assert (failed.value.permanent, failed.value.reason) == (False, "provider_unavailable")
    assert TOKEN.split(":")[1] not in str(failed.value)


async def test_an_empty_reply_sends_nothing(settings: Settings, bot_api: FakeBotApi) -> None:
    delivery = await _adapter(settings).send(_outbound(body="  "))
    assert delivery.channel_message_id is None
    assert bot_api.sent() == []
