"""Guarding outbound webhooks against server-side request forgery.

An admin-supplied URL must not let omnidesk reach what only omnidesk can reach: its own
loopback, the private network, cloud metadata (169.254.169.254)… The host is resolved and
every address it resolves to must be public; the request then goes to the vetted address
itself (the original host travels in ``Host`` and TLS SNI), so that a DNS answer cannot
change between the check and the connection (DNS rebinding). Redirects are never followed
by the callers, since a redirect would skip this check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeTarget(ValueError):
    """The URL may not be called: bad scheme, or a non-public address."""


class Unresolvable(OSError):
    """The host has no address right now (DNS failure): worth trying again later."""


@dataclass(frozen=True)
class Target:
    #: What to connect to: the URL with its host replaced by the vetted address when pinned.
    url: str
    #: The original ``host[:port]`` for the ``Host`` header.
    host_header: str
    #: The original host name, for TLS SNI and certificate checks.
    server_name: str
    pinned: bool


def is_public_address(ip: IPAddress) -> bool:
    """True for globally routable unicast addresses only."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback in disguise
    # is_global is False for loopback, private, link-local, shared (100.64/10), reserved
    # and unspecified ranges; multicast has to be excluded on its own.
    return ip.is_global and not ip.is_multicast


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _split(url: str) -> SplitResult:
    parts = urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES:
        raise UnsafeTarget("only http and https URLs may be called")
    if not parts.hostname:
        raise UnsafeTarget("the URL has no host")
    try:
        _ = parts.port
    except ValueError as exc:
        raise UnsafeTarget("the URL's port is not valid") from exc
    return parts


def check_static(url: str, *, allow_private: bool) -> None:
    """What can be refused without DNS: the scheme, literal addresses and ``localhost``.

    Used when a URL is configured, so that an obviously internal target is a 422 at once.
    """
    parts = _split(url)
    if allow_private:
        return
    host = (parts.hostname or "").rstrip(".")
    ip = _literal(host)
    if ip is not None and not is_public_address(ip):
        raise UnsafeTarget(f"{host} is not a public address")
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeTarget(f"{host} is not a public host")


async def resolve(url: str, *, allow_private: bool) -> Target:
    """Vet ``url`` and return where to connect; raises :class:`UnsafeTarget`."""
    check_static(url, allow_private=allow_private)
    parts = _split(url)
    host = parts.hostname or ""
    host_header = parts.netloc.rpartition("@")[2]
    if allow_private:
        return Target(url=url, host_header=host_header, server_name=host, pinned=False)
    port = parts.port or _DEFAULT_PORTS[parts.scheme]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Unresolvable(f"{host} cannot be resolved: {exc.strerror}") from exc
    # Drop an IPv6 zone ("fe80::1%eth0"); the address alone decides.
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise Unresolvable(f"{host} has no address")
    # Every address must be public: otherwise the connection could land on any of them.
    for address in addresses:
        if not is_public_address(address):
            raise UnsafeTarget(f"{host} resolves to {address}, which is not a public address")
    chosen = addresses[0]
    netloc = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        netloc = f"{userinfo}@{netloc}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return Target(url=pinned, host_header=host_header, server_name=host, pinned=True)
