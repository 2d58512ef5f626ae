"""Signing, the registry and the adapter's inbound parsing, without a server."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import httpx
import pytest

from omnidesk.channels import registry
from omnidesk.channels.api import signing
from omnidesk.channels.api.adapter import ApiChannel
from omnidesk.channels.base import (
    AdapterContext,
    ChannelAdapter,
    Delivery,
    Outbound,
    SignatureInvalid,
    WebhookRequest,
)
from omnidesk.inboxes.models import Inbox
from omnidesk.kit.errors import ValidationFailed
from omnidesk.kit.security import SecretBox
from omnidesk.settings import Settings

SECRET = "whsec_test_secret_0123456789"


def test_signatures_verify_and_expire() -> None:
    body = b'{"id":1}'
    now = 1_767_600_000
    header = signing.sign(SECRET, body, now)
    signing.verify(SECRET, header, body, now=now + 299)
    with pytest.raises(signing.BadSignature, match="too old"):
        signing.verify(SECRET, header, body, now=now + 301)
    with pytest.raises(signing.BadSignature, match="does not match"):
        signing.verify(SECRET, header, body + b" ", now=now)
    with pytest.raises(signing.BadSignature, match="does not match"):
        signing.verify("another-secret-entirely", header, body, now=now)
    with pytest.raises(signing.BadSignature):
        signing.verify(SECRET, None, body, now=now)
    with pytest.raises(signing.BadSignature, match="timestamp"):
        signing.verify(SECRET, "v1=abc", body, now=now)


def test_a_rotation_header_with_two_signatures_verifies() -> None:
    body = b"{}"
    good = signing.sign(SECRET, body, 100)
    header = f"t=100,v1={'0' * 64},{good.split(',')[1]}"
    signing.verify(SECRET, header, body, now=100)


def test_the_registry_finds_the_api_channel_through_its_entry_point() -> None:
    assert "api" in registry.channel_types()
    assert registry.get_adapter_class("api") is ApiChannel
    with pytest.raises(ValidationFailed) as refused:
        registry.get_adapter_class("carrier-pigeon")
    assert refused.value.field == "channel_type"


def _inbox(box: SecretBox, secrets: dict[str, str]) -> Inbox:
    return Inbox(
        id=5,
        account_id=3,
        name="CRM",
        channel_type="api",
        config={"webhook_url": "https://crm.example.com/hook"},
        secrets_encrypted=registry.encrypt_secrets(box, secrets),
    )


def test_build_adapter_decrypts_the_secrets() -> None:
    settings = Settings(environment="test", webhook_timeout_s=3)
    box = SecretBox("k" * 40)
    adapter = registry.build_adapter(_inbox(box, {"secret": SECRET}), box, settings)
    assert isinstance(adapter, ApiChannel)
    assert isinstance(adapter, ChannelAdapter)
    assert adapter.context.secrets == {"secret": SECRET}
    assert adapter.context.timeout_s == 3
    assert (adapter.context.inbox_id, adapter.context.account_id) == (5, 3)


def _request(body: bytes, headers: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(method="POST", url="/", headers=headers, query={}, body=body)


def test_verify_and_parse_a_signed_request() -> None:
    context = AdapterContext(
        inbox_id=1, account_id=1, config={}, secrets={"secret": SECRET}, public_url="http://x"
    )
    adapter = ApiChannel(context)
    body = json.dumps(
        {
            "external_id": "m-1",
            "sender": {"email": "ann@example.com", "phone": "+14155550100", "name": "Ann"},
            "body": "Hi",
            "thread_id": "t",
        }
    ).encode()
    header = signing.sign(SECRET, body, int(time.time()))
    adapter.verify(_request(body, {"x-omnidesk-signature": header}))
    with pytest.raises(SignatureInvalid):
        adapter.verify(_request(body, {}))
    [inbound] = adapter.parse(_request(body, {}))
    assert inbound.channel_message_id == "m-1"
    assert (inbound.sender.kind, inbound.sender.value, inbound.sender.name) == (
        "email",
        "ann@example.com",
        "Ann",
    )
    assert inbound.sender.extra_identities == (("phone", "+14155550100"),)
    assert inbound.thread_id == "t"
    assert adapter.status(_request(body, {})) == []


async def test_send_connects_to_the_vetted_address_with_the_original_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        assert host == "crm.example.com"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"id": 99})

    context = AdapterContext(
        inbox_id=1,
        account_id=1,
        config={"webhook_url": "https://crm.example.com/hook"},
        secrets={"secret": SECRET},
        public_url="http://x",
    )
    adapter = ApiChannel(context, transport=httpx.MockTransport(answer))
    delivery = await adapter.send(
        Outbound(
            message_id=1,
            conversation_id=2,
            idempotency_key="message:1",
            recipient_kind="email",
            recipient="ann@example.com",
            body="Hi",
        )
    )
    assert delivery == Delivery(channel_message_id="99", state="sent")
    [request] = seen
    assert str(request.url) == "https://93.184.215.14/hook"
    assert request.headers["host"] == "crm.example.com"
    assert request.extensions["sni_hostname"] == "crm.example.com"
    assert json.loads(request.content)["recipient"] == {"email": "ann@example.com"}
