"""The one policy for requests newsflow makes to addresses its users name (webhooks).

Every attempt resolves the host again and refuses loopback, private, link-local (cloud
metadata lives there), multicast, reserved and unspecified addresses, unless the
`outbound_allow` setting names the host or a network holding the address. The request then
goes to the address that was checked (the Host header and TLS name stay the host's), so a DNS
answer that changes between check and connect cannot slip through; redirects are never
followed; the response is read up to a byte budget, within a time budget.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import aiohttp

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedAddress(Exception):
    """The target is not one newsflow may call."""


def forbidden_kind(address: IPAddress) -> str | None:
    """Why an address may not be called, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, flag in (("loopback", address.is_loopback), ("unspecified", address.is_unspecified),
                       ("link-local", address.is_link_local), ("multicast", address.is_multicast),
                       ("private", address.is_private), ("reserved", address.is_reserved)):
        if flag:
            return kind
    return None


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Target:
    url: str  # with the checked address in place of the host
    host_header: str
    hostname: str


class OutboundPolicy:
    def __init__(self, allow: str = "", timeout: float = 15.0, max_response_bytes: int = 65_536):
        self.allowed_hosts: set[str] = set()
        self.allowed_networks: list[IPNetwork] = []
        for item in (part.strip() for part in allow.split(",")):
            if not item:
                continue
            try:
                self.allowed_networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.allowed_hosts.add(item.lower())
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes

    def check_url(self, url: str) -> None:
        """What can be said without resolving: scheme and host (for the API's 4xx)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RefusedAddress(f"not an http(s) URL: {url!r}")
        if parts.username or parts.password:
            raise RefusedAddress("URLs with credentials are not accepted")

    async def resolve(self, url: str) -> Target:
        self.check_url(url)
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses: list[IPAddress] = [ipaddress.ip_address(host)]  # a literal: no lookup
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except socket.gaierror as exc:
                raise RefusedAddress(f"{host} does not resolve: {exc.strerror}") from exc
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        host_allowed = host.lower() in self.allowed_hosts
        for address in addresses:
            kind = forbidden_kind(address)
            if kind and not host_allowed and not any(address in net for net in self.allowed_networks):
                raise RefusedAddress(f"{host} resolves to {address}, a {kind} address")
        if not addresses:
            raise RefusedAddress(f"{host} has no address")
        address = addresses[0]
        literal = f"[{address}]" if address.version == 6 else str(address)
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        return Target(urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
                      parts.netloc.rsplit("@", 1)[-1], host)

    async def post(self, session: aiohttp.ClientSession, url: str, body: bytes,
                   headers: dict[str, str]) -> Answer:
        """POSTs to the checked address; returns the status, headers and at most the byte
        budget of the body. Raises RefusedAddress, or aiohttp/timeout errors for transport
        failures. (aiohttp rather than httpx here: a webhook costs a tenth of the CPU.)"""
        target = await self.resolve(url)
        async with session.post(
                target.url, data=body, headers={**headers, "Host": target.host_header},
                allow_redirects=False, timeout=aiohttp.ClientTimeout(total=self.timeout),
                server_hostname=target.hostname if url.lower().startswith("https") else None,
        ) as response:
            received = await response.content.read(self.max_response_bytes)
            return Answer(response.status, dict(response.headers), received)
