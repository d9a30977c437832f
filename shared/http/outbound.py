"""The one policy for requests newsflow makes to addresses its users name: webhooks, feeds
and the pages feed entries link to.

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
from urllib.parse import urljoin, urlsplit, urlunsplit

import aiohttp
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class OutboundError(Exception):
    """A request the policy stopped: refused address, too many redirects, too large."""


class RefusedAddress(OutboundError):
    """The target is not one newsflow may call."""


class TooManyRedirects(OutboundError):
    pass


class ResponseTooLarge(OutboundError):
    pass


REDIRECTS = (301, 302, 303, 307, 308)


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
class Fetched:
    status: int
    headers: httpx.Headers
    content: bytes
    url: str  # after redirects

    @property
    def text(self) -> str:
        charset = httpx.Headers(self.headers).get("content-type", "")
        encoding = charset.split("charset=", 1)[1].split(";")[0].strip() if "charset=" in charset else "utf-8"
        try:
            return self.content.decode(encoding, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")


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

    async def get(self, client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None,
                  max_redirects: int = 5) -> Fetched:
        """GET within the policy: every hop resolved and checked (redirects followed here, at
        most `max_redirects`), the whole exchange within the timeout, the body within the byte
        budget (ResponseTooLarge beyond it: a page is read whole or not at all)."""
        async with asyncio.timeout(self.timeout):
            for _ in range(max_redirects + 1):
                target = await self.resolve(url)
                request = client.build_request(
                    "GET", target.url, headers={**(headers or {}), "host": target.host_header},
                    extensions={"sni_hostname": target.hostname})
                response = await client.send(request, stream=True, follow_redirects=False)
                try:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECTS and location:
                        url = urljoin(url, location)
                        continue
                    content = b""
                    async for chunk in response.aiter_bytes():
                        content += chunk
                        if len(content) > self.max_response_bytes:
                            raise ResponseTooLarge(f"{url} is larger than {self.max_response_bytes} bytes")
                    return Fetched(response.status_code, response.headers, content, url)
                finally:
                    await response.aclose()
        raise TooManyRedirects(f"more than {max_redirects} redirects from {url}")

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
