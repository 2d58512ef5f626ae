"""The API channel adapter: replies leave as signed JSON webhooks to the inbox's URL.

Customers' messages come in through ``POST /api/v1/inboxes/{id}/messages`` with an account
API token (see ``endpoints.py``). Each reply is POSTed to ``webhook_url`` as::

    {"event": "message.created", "id": 42, "conversation_id": 7, "thread_id": "t-1",
     "recipient": {"external_id": "cust-9"}, "body": "…", "body_html": null,
     "subject": "…", "sender_name": "Alex", "created_at": "2026-01-05T09:00:00+00:00"}

with ``X-Omnidesk-Signature`` (see ``signing.py``; reject a ``t`` older than 5 minutes),
``Idempotency-Key`` (the same on every retry of one message: drop repeats) and
``X-Omnidesk-Event: message.created``. Answer 2xx to accept, optionally with
``{"id": "<your id>"}``; 408, 429 and 5xx are retried with backoff, other 4xx are final.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from omnidesk import __version__
from omnidesk.channels import ssrf
from omnidesk.channels.api import signing
from omnidesk.channels.api.schemas import ApiConfig, ApiInboundIn, ApiSecrets
from omnidesk.channels.base import (
    AdapterContext,
    Capabilities,
    CheckEnvironment,
    CheckResult,
    Delivery,
    DeliveryFailed,
    DeliveryUpdate,
    Inbound,
    InboundSender,
    Outbound,
    SignatureInvalid,
    WebhookRequest,
)
from omnidesk.kit.clock import Clock, SystemClock

EVENT = "message.created"
#: A receiver's answer is only read for its id; never buffer an unbounded body.
_MAX_RESPONSE_BYTES = 64 * 1024
_RECIPIENT_KEYS = {"external": "external_id", "email": "email", "phone": "phone"}
_RETRIED_4XX = (408, 429)


def to_inbound(payload: ApiInboundIn) -> Inbound:
    handles = payload.sender.handles()
    kind, _, value = handles[0]
    return Inbound(
        channel_message_id=payload.external_id,
        sender=InboundSender(
            kind=kind,
            value=value,
            name=payload.sender.name,
            extra_identities=tuple((k, v) for k, _, v in handles[1:]),
        ),
        body=payload.body,
        subject=payload.subject,
        thread_id=payload.thread_id,
    )


class ApiChannel:
    name: ClassVar[str] = "api"
    capabilities: ClassVar[Capabilities] = Capabilities(html=True, subject=True)
    config_schema: ClassVar[type[BaseModel]] = ApiConfig
    secrets_schema: ClassVar[type[BaseModel]] = ApiSecrets
    #: Where callers post customers' messages (shown on the inbox as its ``webhook_url``).
    inbound_path: ClassVar[str] = "/api/v1/inboxes/{inbox_id}/messages"
    #: The identity kinds a reply can be addressed to, best first.
    reply_identity_kinds: ClassVar[tuple[str, ...]] = ("external", "email", "phone")

    def __init__(
        self,
        context: AdapterContext,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.context = context
        # Parse only: send() enforces the SSRF policy (with DNS) and fails permanently, so
        # a URL that became unacceptable is not retried as if it were a network error.
        self.config = ApiConfig.model_validate(
            context.config, context={"allow_private_addresses": True}
        )
        secret = context.secrets.get("secret")
        self._secret = secret if isinstance(secret, str) else None
        self._clock = clock or SystemClock()
        self._transport = transport

    # Inbound --------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        """Check a request signed like our own webhooks (the endpoint uses API tokens)."""
        if not self._secret:
            raise SignatureInvalid("this inbox has no secret")
        try:
            signing.verify(
                self._secret,
                request.header(signing.SIGNATURE_HEADER),
                request.body,
                now=self._clock.now().timestamp(),
            )
        except signing.BadSignature as exc:
            raise SignatureInvalid(str(exc)) from exc

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        return [to_inbound(ApiInboundIn.model_validate_json(request.body))]

    def status(self, request: WebhookRequest) -> list[DeliveryUpdate]:
        return []  # receivers acknowledge synchronously; there are no later receipts

    # Checks ---------------------------------------------------------------------------

    async def check(self, environment: CheckEnvironment) -> list[CheckResult]:
        """The signing secret is set, and the webhook URL (if any) is one ``send`` may call:
        resolved and vetted like a delivery, without calling it (a test POST would reach
        the receiver as a message)."""
        results = [
            CheckResult(
                "signing secret",
                bool(self._secret),
                "set" if self._secret else "no signing secret: rotate it to make one",
            )
        ]
        url = self.config.webhook_url
        if url is None:
            results.append(
                CheckResult(
                    "webhook URL",
                    False,
                    "not set: agents' replies stay queued until one is set",
                )
            )
            return results
        try:
            target = await ssrf.resolve(
                str(url), allow_private=self.context.allow_private_addresses
            )
        except ssrf.UnsafeTarget as exc:
            results.append(CheckResult("webhook URL", False, f"refused: {exc}"))
        except ssrf.Unresolvable as exc:
            results.append(CheckResult("webhook URL", False, str(exc)))
        else:
            where = target.url if target.pinned else target.host_header
            results.append(CheckResult("webhook URL", True, f"replies will be posted to {where}"))
        return results

    # Outbound -------------------------------------------------------------------------

    def payload(self, outbound: Outbound) -> dict[str, Any]:
        key = _RECIPIENT_KEYS.get(outbound.recipient_kind, outbound.recipient_kind)
        return {
            "event": EVENT,
            "id": outbound.message_id,
            "conversation_id": outbound.conversation_id,
            "thread_id": outbound.thread_id,
            "recipient": {key: outbound.recipient},
            "body": outbound.body,
            "body_html": outbound.body_html,
            "subject": outbound.subject,
            "sender_name": outbound.sender_name,
            "created_at": outbound.meta.get("created_at"),
        }

    async def send(self, outbound: Outbound) -> Delivery:
        if self.config.webhook_url is None:
            raise DeliveryFailed("the inbox has no webhook_url to deliver to", permanent=True)
        if not self._secret:
            raise DeliveryFailed("the inbox has no signing secret", permanent=True)
        try:
            target = await ssrf.resolve(
                str(self.config.webhook_url), allow_private=self.context.allow_private_addresses
            )
        except ssrf.UnsafeTarget as exc:
            raise DeliveryFailed(f"refused to call the webhook: {exc}", permanent=True) from exc
        except ssrf.Unresolvable as exc:
            raise DeliveryFailed(str(exc)) from exc
        body = json.dumps(self.payload(outbound), separators=(",", ":")).encode()
        timestamp = int(self._clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"omnidesk/{__version__}",
            "Host": target.host_header,
            signing.SIGNATURE_HEADER: signing.sign(self._secret, body, timestamp),
            "Idempotency-Key": outbound.idempotency_key,
            "X-Omnidesk-Event": EVENT,
        }
        # A pinned https URL names an address: TLS must still check the original host.
        extensions = {"sni_hostname": target.server_name} if target.pinned else {}
        return await self._post(target.url, body, headers, extensions)

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str], extensions: dict[str, Any]
    ) -> Delivery:
        # No redirects (they would skip the SSRF check) and no proxies from the environment.
        async with httpx.AsyncClient(
            timeout=self.context.timeout_s,
            follow_redirects=False,
            trust_env=False,
            transport=self._transport,
        ) as client:
            try:
                request = client.build_request(
                    "POST", url, content=body, headers=headers, extensions=extensions
                )
                response = await client.send(request, stream=True)
                try:
                    answer = await _read_some(response)
                finally:
                    await response.aclose()
            except httpx.TimeoutException as exc:
                raise DeliveryFailed(f"the webhook did not answer in time ({exc!r})") from exc
            except httpx.HTTPError as exc:
                raise DeliveryFailed(f"the webhook could not be reached: {exc!r}") from exc
        return _outcome(response.status_code, answer)


async def _read_some(response: httpx.Response) -> bytes:
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= _MAX_RESPONSE_BYTES:
            break
    return data[:_MAX_RESPONSE_BYTES]


def _outcome(status: int, answer: bytes) -> Delivery:
    if 200 <= status < 300:
        return Delivery(channel_message_id=_their_id(answer), state="sent")
    excerpt = answer[:200].decode("utf-8", "replace")
    message = f"the webhook answered {status}: {excerpt}".rstrip(": ")
    if 300 <= status < 400:
        raise DeliveryFailed(f"{message} (redirects are not followed)", permanent=True)
    if 400 <= status < 500 and status not in _RETRIED_4XX:
        raise DeliveryFailed(message, permanent=True)
    raise DeliveryFailed(message)


def _their_id(answer: bytes) -> str | None:
    try:
        parsed = json.loads(answer)
    except ValueError:
        return None
    found = parsed.get("id") if isinstance(parsed, dict) else None
    if isinstance(found, str | int) and not isinstance(found, bool):
        return str(found)[:255]
    return None
