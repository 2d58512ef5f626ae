"""The pieces Meta's channels share: signatures, the hub.challenge handshake, Graph errors."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from omnidesk.channels import meta
from omnidesk.channels.base import SignatureInvalid, WebhookRequest

SECRET = "app-secret-123"
BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def _post(headers: dict[str, str], body: bytes = BODY) -> WebhookRequest:
    return WebhookRequest(method="POST", url="https://x/h", headers=headers, query={}, body=body)


def _get(query: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(method="GET", url="https://x/h", headers={}, query=query, body=b"")


def test_a_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert meta.sign(SECRET, BODY) == f"sha256={expected}"
    meta.verify_signature(SECRET, _post({"x-hub-signature-256": f"sha256={expected}"}))


@pytest.mark.parametrize(
    ("headers", "body", "secret", "why"),
    [
        ({}, BODY, SECRET, "missing"),
        ({"x-hub-signature-256": meta.sign("other", BODY)}, BODY, SECRET, "does not match"),
        ({"x-hub-signature-256": meta.sign(SECRET, BODY)}, BODY + b" ", SECRET, "does not match"),
        ({"x-hub-signature-256": "sha1=abc"}, BODY, SECRET, "not a sha256"),
        ({"x-hub-signature-256": meta.sign(SECRET, BODY)}, BODY, "", "no app secret"),
    ],
)
def test_forged_or_missing_signatures_are_refused(
    headers: dict[str, str], body: bytes, secret: str, why: str
) -> None:
    with pytest.raises(SignatureInvalid, match=why):
        meta.verify_signature(secret, _post(headers, body))


def test_the_handshake_echoes_the_challenge_for_the_right_token() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444"}
    assert meta.challenge(_get(query), "tok") == "1158201444"


@pytest.mark.parametrize(
    ("query", "token"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}, "tok"),
        ({"hub.mode": "unsubscribe", "hub.verify_token": "tok", "hub.challenge": "1"}, "tok"),
        ({"hub.mode": "subscribe", "hub.verify_token": "tok"}, "tok"),
        ({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}, ""),
    ],
)
def test_the_handshake_refuses_a_wrong_token_mode_or_challenge(
    query: dict[str, str], token: str
) -> None:
    with pytest.raises(SignatureInvalid):
        meta.challenge(_get(query), token)


def _error(code: int, subcode: int | None = None, message: str = "m") -> dict[str, object]:
    error: dict[str, object] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


@pytest.mark.parametrize(
    ("status", "body", "reason", "permanent"),
    [
        (400, _error(131047), "outside_window", True),
        (400, _error(131026), "invalid_recipient", True),
        (400, _error(131056), "rate_limited", False),
        (429, _error(130429), "rate_limited", False),
        (400, _error(80007), "rate_limited", False),
        (401, _error(190), "auth_failed", True),
        (400, _error(131031), "blocked", True),
        (400, _error(131050), "opted_out", True),
        (400, _error(10, 2018278), "outside_window", True),
        (400, _error(10, 2534022), "outside_window", True),
        (400, _error(10), "auth_failed", True),
        (400, _error(551, 1545041), "invalid_recipient", True),
        (403, _error(200), "auth_failed", True),
        (400, _error(132001), "rejected", True),
        (500, _error(131000), "provider_unavailable", False),
        (503, b"<html>bad gateway</html>", "provider_unavailable", False),
        (429, b"", "rate_limited", False),
        (400, b"not json", "rejected", True),
    ],
)
def test_graph_errors_are_classified(
    status: int, body: object, reason: str, permanent: bool
) -> None:
    failure = meta.graph_failure(status, body)  # type: ignore[arg-type]
    assert (failure.reason, failure.permanent) == (reason, permanent)


def test_a_graph_failure_keeps_meta_s_words_and_code() -> None:
    body = (
        b'{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException",'
        b'"code":131047,"error_data":{"messaging_product":"whatsapp","details":'
        b'"Message failed to send because more than 24 hours have passed since the customer '
        b'last replied to this number."},"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}'
    )
    failure = meta.graph_failure(400, body)
    assert failure.code == 131047
    assert "more than 24 hours" in failure.message
    assert failure.message.endswith("(code 131047)")
    assert meta.unavailable("timed out").reason == "provider_unavailable"


def test_the_graph_url_comes_from_the_settings() -> None:
    assert meta.graph_url({"meta_graph": "http://127.0.0.1:9/v21.0/"}) == "http://127.0.0.1:9/v21.0"
    assert meta.graph_url({}) == meta.DEFAULT_GRAPH_URL


def test_a_graph_failure_becomes_the_delivery_failure_a_send_raises() -> None:
    transient = meta.delivery_failed(meta.graph_failure(429, _error(130429)))
    final = meta.delivery_failed(meta.graph_failure(400, _error(131026)))
    assert (transient.permanent, transient.reason) == (False, "rate_limited")
    assert (final.permanent, final.reason) == (True, "invalid_recipient")
    assert str(final).startswith("[invalid_recipient] ")
