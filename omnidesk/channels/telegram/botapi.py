"""A small client of the Telegram Bot API: ``POST <api>/bot<token>/<method>`` and file downloads
from ``<api>/file/bot<token>/<file_path>``.

Every answer is ``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": 403,
"description": "Forbidden: bot was blocked by the user", "parameters": {"retry_after": 5}}``
(https://core.telegram.org/bots/api#making-requests). The token is part of every URL, so no
URL is ever logged or put in an error message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

#: The Bot API serves files of at most this size to bots (getFile).
DOWNLOAD_LIMIT_BYTES = 20 * 1024 * 1024
#: An API answer is small JSON; a bigger one is not the Bot API's.
_MAX_ANSWER_BYTES = 1024 * 1024


class BotApiError(Exception):
    """The Bot API refused a call (``status`` is its ``error_code``), or could not be reached
    (``status`` 0: a timeout or a network error)."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(f"{status}: {description}" if status else description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


class FileTooLarge(Exception):
    """A download that would pass its byte cap."""


@dataclass(frozen=True)
class Upload:
    """A file sent with multipart/form-data under ``field`` (``document``, ``photo``)."""

    field: str
    filename: str
    content_type: str
    data: bytes


class BotApi:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout_s = timeout_s
        self._transport = transport

    def _client(self) -> httpx.AsyncClient:
        # No proxies from the environment and no redirects: the token travels in the URL.
        return httpx.AsyncClient(
            timeout=self._timeout_s,
            follow_redirects=False,
            trust_env=False,
            transport=self._transport,
        )

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, upload: Upload | None = None
    ) -> Any:
        """The ``result`` of one Bot API method; :class:`BotApiError` when refused."""
        url = f"{self._base}/bot{self._token}/{method}"
        async with self._client() as client:
            try:
                if upload is None:
                    response = await client.post(url, json=params or {})
                else:
                    # Multipart fields are strings: objects (reply_parameters) go as JSON.
                    fields = {
                        k: v if isinstance(v, str) else json.dumps(v)
                        for k, v in (params or {}).items()
                    }
                    files = {upload.field: (upload.filename, upload.data, upload.content_type)}
                    response = await client.post(url, data=fields, files=files)
            except httpx.TimeoutException:
                raise BotApiError(0, f"the Bot API did not answer {method} in time") from None
            except httpx.HTTPError as exc:
                # The exception's text may hold the URL, hence the token: name its type only.
                raise BotApiError(
                    0, f"the Bot API could not be reached ({type(exc).__name__})"
                ) from None
        return _result(response)

    async def download(self, file_path: str, *, max_bytes: int) -> bytes:
        """A file named by getFile's ``file_path``; :class:`FileTooLarge` past ``max_bytes``."""
        if not file_path or file_path.startswith("/") or ".." in file_path.split("/"):
            raise BotApiError(400, "the Bot API gave an unusable file path")
        url = f"{self._base}/file/bot{self._token}/{quote(file_path)}"
        async with self._client() as client:
            try:
                async with client.stream("GET", url) as response:
                    if response.status_code != 200:
                        raise BotApiError(response.status_code, "the file could not be downloaded")
                    data = bytearray()
                    async for chunk in response.aiter_bytes():
                        data += chunk
                        if len(data) > max_bytes:
                            raise FileTooLarge(f"larger than {max_bytes} bytes")
            except httpx.TimeoutException:
                raise BotApiError(0, "the file download timed out") from None
            except httpx.HTTPError as exc:
                raise BotApiError(
                    0, f"the file could not be downloaded ({type(exc).__name__})"
                ) from None
        return bytes(data)


def _result(response: httpx.Response) -> Any:
    answer: Any = None
    if len(response.content) <= _MAX_ANSWER_BYTES:
        try:
            answer = response.json()
        except ValueError:
            answer = None
    if not isinstance(answer, dict):
        raise BotApiError(response.status_code or 502, "the Bot API answered something not JSON")
    if answer.get("ok") is True and response.status_code == 200:
        return answer.get("result")
    parameters = answer.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    code = answer.get("error_code")
    raise BotApiError(
        code if isinstance(code, int) else response.status_code,
        str(answer.get("description") or "refused without a description")[:300],
        retry_after=retry_after if isinstance(retry_after, int) else None,
    )
