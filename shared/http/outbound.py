"""The one policy for requests newsflow makes to addresses its users name: webhooks, Slack and
Teams messages, the SMTP relay email goes through, feeds and the pages feed entries link to.

Every attempt resolves the host again and refuses every address that is not globally
reachable (`ipaddress`'s `is_global`: loopback, private, shared CGNAT space, link-local where
cloud metadata lives, site-local, unique-local, documentation ranges) and multicast, judging an
IPv6 address that carries an IPv4 one (mapped, compatible, 6to4, Teredo, NAT64) by the IPv4
address inside, unless the `outbound_allow` setting names the host or a network holding the
address. A refusal names the host, never what it resolved to. The request then
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


NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to, when it is one of the forms that carry one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client behind the Teredo server
    if any(address in net for net in NAT64) or (address in IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def forbidden_kind(address: IPAddress) -> str | None:
    """Why an address may not be called, or None when it is global (and not multicast)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return forbidden_kind(inner)
        if address.is_site_local:  # deprecated, and not private to ipaddress: still inside
            return "site-local"
    for kind, flag in (("loopback", address.is_loopback), ("unspecified", address.is_unspecified),
                       ("link-local", address.is_link_local), ("multicast", address.is_multicast),
                       ("private", address.is_private), ("reserved", address.is_reserved)):
        if flag:
            return kind
    return None if address.is_global else "non-global"


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


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


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
        address = await self.resolve_host(host, parts.port or (443 if parts.scheme == "https" else 80))
        literal = f"[{address}]" if address.version == 6 else str(address)
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        return Target(urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
                      parts.netloc.rsplit("@", 1)[-1], host)

    async def resolve_host(self, host: str, port: int) -> IPAddress:
        """The address to connect to for `host`, once every address it resolves to is checked."""
        try:
            addresses: list[IPAddress] = [ipaddress.ip_address(host)]  # a literal: no lookup
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as exc:
                raise RefusedAddress(f"{host} does not resolve to a public address") from exc
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        host_allowed = host.lower() in self.allowed_hosts
        for address in addresses:
            kind = forbidden_kind(address)
            if kind and not host_allowed and not any(address in net for net in self.allowed_networks):
                # Not what it resolved to: that would map the inside for whoever asks.
                what = f"a {kind} address" if address == _literal(host) else "not a public address"
                raise RefusedAddress(f"{host} is {what}")
        if not addresses:
            raise RefusedAddress(f"{host} does not resolve to a public address")
        return addresses[0]

    async def open_socket(self, host: str, port: int) -> socket.socket:
        """A TCP connection to the checked address of `host` (for protocols other than HTTP:
        the SMTP relay), within the time budget."""
        address = await self.resolve_host(host, port)
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            async with asyncio.timeout(self.timeout):
                await asyncio.get_running_loop().sock_connect(sock, (str(address), port))
        except BaseException:
            sock.close()
            raise
        return sock

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
