"""Files are fetched from the fake Bot API by file_id, within the size cap."""

from __future__ import annotations

import pytest

from omnidesk.channels.base import AdapterContext, MediaRef, MediaUnavailable
from omnidesk.channels.telegram.adapter import TelegramChannel
from omnidesk.settings import Settings
from tests.channels.telegram.conftest import SECRET
from tests.channels.telegram.fake import TOKEN, FakeBotApi


def _adapter(settings: Settings) -> TelegramChannel:
    context = AdapterContext(
        inbox_id=7,
        account_id=1,
        config={},
        secrets={"bot_token": TOKEN, "webhook_secret": SECRET},
        public_url="https://desk.example.com",
        provider_urls={"telegram": settings.telegram_api_url},
    )
    return TelegramChannel(context)


async def test_a_file_is_fetched_with_getfile_then_its_path(
    settings: Settings, bot_api: FakeBotApi
) -> None:
    bot_api.files["voice-1"] = ("voice/file_3.oga", b"OggS" + b"1" * 500)
    file = await _adapter(settings).fetch_media(
        MediaRef("voice-1", "audio/ogg", "voice.ogg"), max_bytes=1000
    )
    assert [c.params for c in bot_api.calls if c.method == "download"] == [
        {"file_path": "voice/file_3.oga"}
    ]
    assert (file.filename, file.content_type, file.data) == (
        "voice.ogg",
        "audio/ogg",
        b"OggS" + b"1" * 500,
    )


async def test_a_file_over_the_cap_is_not_downloaded(
    settings: Settings, bot_api: FakeBotApi
) -> None:
    bot_api.files["video-1"] = ("videos/file_4.mp4", b"0" * 2000)
    with pytest.raises(MediaUnavailable, match="larger than 1000 bytes"):
        await _adapter(settings).fetch_media(MediaRef("video-1"), max_bytes=1000)
    assert not any(c.method == "download" for c in bot_api.calls)


async def test_a_file_telegram_no_longer_has_is_unavailable(
    settings: Settings, bot_api: FakeBotApi
) -> None:
    with pytest.raises(MediaUnavailable, match="invalid file_id"):
        await _adapter(settings).fetch_media(MediaRef("gone-1"), max_bytes=1000)
