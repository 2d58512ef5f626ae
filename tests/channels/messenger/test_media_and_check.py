"""Downloading customers' files within limits, and the inbox's connectivity check."""

from __future__ import annotations

import pytest

from omnidesk.channels.base import MediaRef, MediaUnavailable
from omnidesk.channels.messenger.adapter import MessengerChannel
from tests.channels.messenger.graph_fake import GraphFake
from tests.channels.messenger.support import (
    PAGE_ID,
    SECRETS,
    Environment,
    context,
    payload,
    signed,
)


def adapter(graph: GraphFake, secrets: dict[str, str] | None = None) -> MessengerChannel:
    return MessengerChannel(context({"page_id": PAGE_ID}, secrets=secrets), graph_url=graph.url)


async def test_attachments_of_a_webhook_are_downloaded(graph: GraphFake) -> None:
    graph.files["v/t1.15752-9/photo.jpg"] = ("image/jpeg", b"\xff\xd8\xff jpeg bytes")
    graph.files["v/t1.15752-9/invoice.pdf"] = ("application/pdf", b"%PDF-1.7 invoice")
    channel = adapter(graph)
    [inbound] = channel.parse(signed(payload("messenger", "image", cdn=graph.cdn(""))))
    photo, invoice = [await channel.fetch_media(m, max_bytes=1024) for m in inbound.media]
    assert (photo.filename, photo.content_type, photo.data) == (
        "photo.jpg",
        "image/jpeg",
        b"\xff\xd8\xff jpeg bytes",
    )
    assert (invoice.filename, invoice.content_type) == ("invoice.pdf", "application/pdf")


async def test_a_redirect_is_followed_and_an_unnamed_file_is_named_by_its_type(
    graph: GraphFake,
) -> None:
    graph.files["asset"] = ("video/mp4", b"mp4 bytes")
    got = await adapter(graph).fetch_media(
        MediaRef(graph.cdn("redirect-asset"), filename="video-1"), max_bytes=1024
    )
    assert (got.filename, got.content_type, got.data) == ("video-1.mp4", "video/mp4", b"mp4 bytes")


async def test_too_large_or_expired_media_is_unavailable(graph: GraphFake) -> None:
    graph.files["big.jpg"] = ("image/jpeg", b"x" * 2048)
    channel = adapter(graph)
    with pytest.raises(MediaUnavailable, match="too large"):
        await channel.fetch_media(MediaRef(graph.cdn("big.jpg")), max_bytes=1024)
    with pytest.raises(MediaUnavailable, match="gone"):
        await channel.fetch_media(MediaRef(graph.cdn("expired.jpg")), max_bytes=1024)


async def test_media_urls_to_private_addresses_are_refused_in_production(graph: GraphFake) -> None:
    ctx = context({"page_id": PAGE_ID}).model_copy(update={"allow_private_addresses": False})
    channel = MessengerChannel(ctx, graph_url=graph.url)
    with pytest.raises(MediaUnavailable, match="refused"):
        await channel.fetch_media(MediaRef("http://169.254.169.254/latest/meta-data"), max_bytes=9)
    assert graph.requests == []


async def test_the_check_reads_the_page_with_the_token(graph: GraphFake) -> None:
    results = await adapter(graph).check(Environment({("page_id", PAGE_ID): [1]}))
    assert [(r.name, r.ok) for r in results] == [
        ("app secret", True),
        ("Page access token", True),
        ("Page", True),
        ("one inbox per account", True),
    ]
    assert results[2].detail == f"Acme Support ({PAGE_ID})"
    assert ("GET", f"/v21.0/{PAGE_ID}?fields=id%2Cname") in graph.requests


async def test_the_check_says_what_is_wrong(graph: GraphFake) -> None:
    graph.token = "the-token-was-revoked"
    secrets = {k: v for k, v in SECRETS.items() if k != "app_secret"}
    results = await adapter(graph, secrets).check(Environment({("page_id", PAGE_ID): [1, 4]}))
    assert [(r.name, r.ok) for r in results] == [
        ("app secret", False),
        ("Page access token", True),
        ("Page", False),
        ("one inbox per account", False),
    ]
    assert "auth_failed" in results[2].detail
    assert "inbox 4" in results[3].detail
