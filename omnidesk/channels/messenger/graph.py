"""Calling the Graph API with a Page access token, its refusals classified.

The token travels in ``Authorization: Bearer`` (never in the URL, which logs keep). A
refusal becomes :class:`DeliveryFailed` with the reason the agent sees; Messenger's own
codes are read first (:func:`failure`), then what every Meta API shares
(``channels.meta.graph_failure``).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from omnidesk import __version__
from omnidesk.channels import meta
from omnidesk.channels.base import DeliveryFailed, FailureReason

#: What of a Graph answer is read (its answers are small JSON documents).
_MAX_ANSWER_BYTES = 256 * 1024
#: Code 10 is "outside the allowed window" on the Send API with these subcodes (or none).
_WINDOW_SUBCODES = (None, 2018278, 2534022)


class Graph:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout_s = timeout_s
        self._transport = transport

    async def get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        return await self._call("GET", path, params=params)

    async def post(
        self,
        path: str,
        body: dict[str, Any],
        *,
        file: tuple[str, bytes, str] | None = None,
    ) -> dict[str, Any]:
        """POST ``body`` as JSON, or as a multipart form with ``file`` as ``filedata``."""
        if file is None:
            return await self._call("POST", path, json_body=body)
        fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        return await self._call("POST", path, form=fields, file=file)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        file: tuple[str, bytes, str] | None = None,
    ) -> dict[str, Any]:
        if not self._token:
            raise DeliveryFailed(
                "the inbox has no Page access token", permanent=True, reason="auth_failed"
            )
        headers = {
            "Authorization": f"Bearer {self._token}",
            "User-Agent": f"omnidesk/{__version__}",
        }
        async with httpx.AsyncClient(
            timeout=self._timeout_s,
            follow_redirects=False,
            trust_env=False,
            transport=self._transport,
        ) as client:
            try:
                response = await client.request(
                    method,
                    f"{self.base_url}/{path.lstrip('/')}",
                    params=params,
                    json=json_body,
                    data=form,
                    files={"filedata": file} if file is not None else None,
                    headers=headers,
                )
            except httpx.TimeoutException as exc:
                detail = f"the Graph API did not answer in time ({exc!r})"
                raise meta.delivery_failed(meta.unavailable(detail)) from exc
            except httpx.HTTPError as exc:
                detail = f"the Graph API could not be reached: {exc!r}"
                raise meta.delivery_failed(meta.unavailable(detail)) from exc
        answer = response.content[:_MAX_ANSWER_BYTES]
        if response.status_code >= 300:
            raise meta.delivery_failed(failure(response.status_code, answer))
        try:
            parsed = json.loads(answer)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise meta.delivery_failed(
                meta.unavailable("the Graph API answered with something not JSON")
            )
        return parsed


def failure(status_code: int, answer: bytes) -> meta.GraphFailure:
    """A Send API refusal: Messenger's codes first, then Meta's shared ones.

    ``551`` "this person isn't available right now" means the person cannot get the Page's
    messages (blocked it, or left Messenger); ``10`` is the 24-hour window (its subcodes
    say which flavour); ``100`` on the recipient is an unknown or wrong PSID.
    """
    found = meta.graph_failure(status_code, answer)
    reason: FailureReason = found.reason
    if found.code == 551:
        reason = "blocked"
    elif found.code == 10 and found.subcode in _WINDOW_SUBCODES:
        reason = "outside_window"
    elif found.code == 100 and (found.subcode == 2018001 or "recipient" in found.message.lower()):
        reason = "invalid_recipient"
    return meta.GraphFailure(reason, found.message, found.code, found.subcode)
