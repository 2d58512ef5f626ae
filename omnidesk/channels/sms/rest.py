"""The few calls omnidesk makes to Twilio's REST API (2010-04-01), over httpx.

Twilio's own client is synchronous (requests) or aiohttp-based; these few calls with our
timeouts, transport (tests point it at a loopback fake) and error mapping are shorter than
wrapping it. Errors come back as ``{"code": 21211, "message": "…", "status": 400}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

API_VERSION = "2010-04-01"
#: Twilio's answers are small JSON documents; never buffer an unbounded body.
_MAX_ANSWER_BYTES = 256 * 1024
#: Media URLs answer with a redirect to the file's storage (sometimes two).
_MAX_REDIRECTS = 5


class TwilioError(Exception):
    """Twilio answered, but not with success: ``status`` is HTTP, ``code`` is Twilio's."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(
            f"Twilio answered {status}" + (f" (error {code})" if code else "") + f": {message}"
        )
        self.status = status
        self.code = code
        self.detail = message


class Unreachable(Exception):
    """Twilio could not be reached. ``maybe_sent``: the request may have arrived (a read
    timeout, a dropped connection) rather than certainly not (a refused connection)."""

    def __init__(self, message: str, *, maybe_sent: bool) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


class TooLarge(Exception):
    """A media file larger than the limit."""


@dataclass(frozen=True)
class Media:
    data: bytes
    content_type: str


class TwilioRest:
    def __init__(
        self,
        base_url: str,
        account_sid: str,
        auth: tuple[str, str],
        *,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_sid = account_sid
        self._auth = auth
        self._timeout_s = timeout_s
        self._transport = transport

    def account_url(self, suffix: str = "") -> str:
        return f"{self.base_url}/{API_VERSION}/Accounts/{quote(self.account_sid)}{suffix}"

    def _client(self, *, follow_redirects: bool = False) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            auth=self._auth,
            timeout=self._timeout_s,
            follow_redirects=follow_redirects,
            max_redirects=_MAX_REDIRECTS,
            trust_env=False,
            transport=self._transport,
        )

    async def _call(
        self,
        method: str,
        url: str,
        *,
        form: list[tuple[str, str]] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        async with self._client() as client:
            try:
                response = await client.request(method, url, data=dict_of(form), params=params)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise Unreachable(
                    f"Twilio could not be reached: {exc!r}", maybe_sent=False
                ) from exc
            except httpx.TimeoutException as exc:
                raise Unreachable(
                    f"Twilio did not answer in time ({exc!r})", maybe_sent=True
                ) from exc
            except httpx.HTTPError as exc:
                raise Unreachable(f"Twilio could not be reached: {exc!r}", maybe_sent=True) from exc
        answer = _json(response.content[:_MAX_ANSWER_BYTES])
        if 200 <= response.status_code < 300:
            return answer
        code = answer.get("code")
        message = answer.get("message")
        raise TwilioError(
            response.status_code,
            code if isinstance(code, int) and not isinstance(code, bool) else None,
            message if isinstance(message, str) else response.reason_phrase,
        )

    async def create_message(self, form: list[tuple[str, str]]) -> dict[str, Any]:
        return await self._call("POST", self.account_url("/Messages.json"), form=form)

    async def recent_messages(self, to: str, from_: str | None) -> list[dict[str, Any]]:
        """The latest messages to ``to`` (from ``from_``), newest first."""
        params = {"To": to, "PageSize": "20"}
        if from_:
            params["From"] = from_
        page = await self._call("GET", self.account_url("/Messages.json"), params=params)
        found = page.get("messages")
        return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []

    async def fetch_account(self) -> dict[str, Any]:
        return await self._call("GET", self.account_url(".json"))

    async def find_number(self, phone_number: str) -> dict[str, Any] | None:
        page = await self._call(
            "GET",
            self.account_url("/IncomingPhoneNumbers.json"),
            params={"PhoneNumber": phone_number},
        )
        found = page.get("incoming_phone_numbers")
        if isinstance(found, list) and found and isinstance(found[0], dict):
            return found[0]
        return None

    def is_ours(self, url: str) -> bool:
        """Whether ``url`` is on the API host: only there do our credentials go."""
        ours, theirs = urlsplit(self.base_url), urlsplit(url)
        return (ours.scheme, ours.netloc) == (theirs.scheme, theirs.netloc)

    async def fetch_media(self, url: str, *, max_bytes: int) -> Media:
        """Download a message's media, following Twilio's redirect to its storage (httpx
        drops the credentials when a redirect leaves the API's host)."""
        async with self._client(follow_redirects=True) as client:
            try:
                async with client.stream("GET", url) as response:
                    if response.status_code != 200:
                        raise TwilioError(response.status_code, None, "the media is not there")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise TooLarge(f"{declared} bytes, more than {max_bytes}")
                    data = bytearray()
                    async for chunk in response.aiter_bytes():
                        data += chunk
                        if len(data) > max_bytes:
                            raise TooLarge(f"more than {max_bytes} bytes")
                    kind = response.headers.get("content-type", "")
            except httpx.HTTPError as exc:
                raise Unreachable(
                    f"the media could not be fetched: {exc!r}", maybe_sent=False
                ) from exc
        return Media(bytes(data), kind.split(";")[0].strip())


def dict_of(form: list[tuple[str, str]] | None) -> Any:
    # httpx encodes a list value as a repeated field (MediaUrl, MediaUrl…).
    if form is None:
        return None
    fields: dict[str, list[str]] = {}
    for name, value in form:
        fields.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in fields.items()}


def _json(content: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(content)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
