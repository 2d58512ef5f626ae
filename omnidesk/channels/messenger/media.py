"""Downloading a customer's attachment from the URL a Messenger Platform webhook names.

The URLs are signed CDN links that need no token and expire (hours for Messenger, sooner
for Instagram): the pipeline fetches them while it handles the webhook. The URL comes from a
signed webhook, but it is still vetted like any outbound call (``channels.ssrf``) and each
redirect is vetted again; the body is read up to the size limit and no further.
"""

from __future__ import annotations

import mimetypes
from typing import Any

import httpx

from omnidesk import __version__
from omnidesk.channels import ssrf
from omnidesk.channels.base import InboundAttachment, MediaRef, MediaUnavailable

_MAX_REDIRECTS = 3
_GONE = (403, 404, 410)


async def download(
    media: MediaRef,
    *,
    max_bytes: int,
    allow_private: bool,
    timeout_s: float,
    transport: httpx.AsyncBaseTransport | None = None,
) -> InboundAttachment:
    url = media.ref
    async with httpx.AsyncClient(
        timeout=timeout_s, follow_redirects=False, trust_env=False, transport=transport
    ) as client:
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                target = await ssrf.resolve(url, allow_private=allow_private)
            except (ssrf.UnsafeTarget, ssrf.Unresolvable) as exc:
                raise MediaUnavailable(f"the attachment's URL is refused: {exc}") from exc
            extensions = {"sni_hostname": target.server_name} if target.pinned else {}
            headers = {"Host": target.host_header, "User-Agent": f"omnidesk/{__version__}"}
            try:
                request = client.build_request(
                    "GET", target.url, headers=headers, extensions=extensions
                )
                response = await client.send(request, stream=True)
                try:
                    if response.is_redirect and "location" in response.headers:
                        url = str(httpx.URL(url).join(response.headers["location"]))
                        continue
                    data = await _body(response, max_bytes)
                finally:
                    await response.aclose()
            except httpx.HTTPError as exc:
                raise MediaUnavailable(f"the attachment could not be fetched: {exc!r}") from exc
            content_type = _content_type(response.headers, media)
            return InboundAttachment(_named(media.filename, content_type), content_type, data)
    raise MediaUnavailable("the attachment's URL redirects too many times")


async def _body(response: httpx.Response, max_bytes: int) -> bytes:
    if response.status_code in _GONE:
        raise MediaUnavailable(f"the attachment is gone (HTTP {response.status_code})")
    if response.status_code != 200:
        raise MediaUnavailable(f"the attachment could not be fetched (HTTP {response.status_code})")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise MediaUnavailable(f"the attachment is too large ({declared} bytes > {max_bytes})")
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) > max_bytes:
            raise MediaUnavailable(f"the attachment is too large (more than {max_bytes} bytes)")
    return bytes(data)


def _content_type(headers: Any, media: MediaRef) -> str:
    given = str(headers.get("content-type", "")).split(";")[0].strip().lower()
    if given and given != "application/octet-stream":
        return given
    guessed, _ = mimetypes.guess_type(media.filename)
    return media.content_type or guessed or "application/octet-stream"


def _named(filename: str, content_type: str) -> str:
    if "." in filename:
        return filename
    extension = mimetypes.guess_extension(content_type) or ""
    return f"{filename}{extension}"
