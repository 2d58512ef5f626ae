"""The SSRF guard on outbound webhooks (no network: literals and loopback resolution)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import pytest

from omnidesk.channels import ssrf


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not ssrf.is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_global_addresses_are_public(address: str) -> None:
    assert ssrf.is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "http://localhost/hook",
        "http://api.localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http:///no-host",
    ],
)
async def test_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(ssrf.UnsafeTarget):
        await ssrf.resolve(url, allow_private=False)


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
    async def getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)


async def test_names_are_resolved_and_every_address_must_be_public(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_dns(
        monkeypatch,
        {
            "rebind.example.com": ["127.0.0.1"],
            "mixed.example.com": ["93.184.215.14", "10.0.0.7"],
            "crm.example.com": ["93.184.215.14", "93.184.215.15"],
        },
    )
    with pytest.raises(ssrf.UnsafeTarget, match=r"127\.0\.0\.1, which is not a public address"):
        await ssrf.resolve("http://rebind.example.com/hook", allow_private=False)
    with pytest.raises(ssrf.UnsafeTarget, match=r"10\.0\.0\.7"):
        await ssrf.resolve("https://mixed.example.com/hook", allow_private=False)
    with pytest.raises(ssrf.Unresolvable):
        await ssrf.resolve("https://nowhere.example.com/hook", allow_private=False)

    target = await ssrf.resolve("https://crm.example.com/hook?x=1", allow_private=False)
    # Connect to the vetted address; the name travels in Host and TLS SNI.
    assert target == ssrf.Target(
        url="https://93.184.215.14/hook?x=1",
        host_header="crm.example.com",
        server_name="crm.example.com",
        pinned=True,
    )


async def test_a_public_address_is_pinned_with_the_original_host_kept() -> None:
    target = await ssrf.resolve("https://user:pw@93.184.215.14:8443/a?b=1", allow_private=False)
    assert target.pinned
    assert target.url == "https://user:pw@93.184.215.14:8443/a?b=1"
    assert target.host_header == "93.184.215.14:8443"
    assert target.server_name == "93.184.215.14"


async def test_private_addresses_pass_when_allowed() -> None:
    target = await ssrf.resolve("http://127.0.0.1:9/hook", allow_private=True)
    assert target == ssrf.Target(
        url="http://127.0.0.1:9/hook",
        host_header="127.0.0.1:9",
        server_name="127.0.0.1",
        pinned=False,
    )
    with pytest.raises(ssrf.UnsafeTarget):
        await ssrf.resolve("ftp://127.0.0.1/", allow_private=True)
