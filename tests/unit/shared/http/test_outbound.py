"""The outbound address policy: what it refuses, and what the allow-list lets through."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from aiohttp import web

from shared.http.outbound import (
    OutboundPolicy,
    RefusedAddress,
    ResponseTooLarge,
    TooManyRedirects,
    forbidden_kind,
)

# Every form an inside address can take in a webhook URL: each must be refused.
REFUSED = [
    # loopback, by number and by name
    "http://127.0.0.1/", "http://127.1.2.3/", "http://localhost/", "http://localhost./",
    "http://LOCALHOST:8080/", "http://[::1]/", "http://[0:0:0:0:0:0:0:1]/",
    # decimal, octal, hex and short IPv4 spellings (the resolver reads them as numbers)
    "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://0x7f000001/",
    "http://017700000001/", "http://127.1/", "http://0/",
    # IDN: full-width digits fold to 127.0.0.1
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/",
    # private, shared (CGNAT) and cloud metadata
    "http://10.0.0.1/", "http://172.16.0.1/", "http://192.168.1.1/", "http://100.64.0.1/",
    "http://100.100.100.200/", "http://169.254.169.254/", "http://[fd00:ec2::254]/",
    "http://192.0.0.170/",
    # unspecified, broadcast, multicast, documentation, benchmarking, reserved
    "http://0.0.0.0/", "http://[::]/", "http://255.255.255.255/", "http://224.0.0.1/",
    "http://[ff02::1]/", "http://[ff0e::1]/", "http://192.0.2.1/", "http://198.51.100.1/",
    "http://203.0.113.1/", "http://198.18.0.1/", "http://240.0.0.1/", "http://[2001:db8::1]/",
    # IPv6 link-local, site-local, unique-local
    "http://[fe80::1]/", "http://[fec0::1]/", "http://[fc00::1]/",
    # IPv6 forms carrying an inside IPv4 address
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[::ffff:169.254.169.254]/",
    "http://[::127.0.0.1]/", "http://[2002:7f00:1::]/", "http://[2002:a9fe:a9fe::]/",
    "http://[64:ff9b::127.0.0.1]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[64:ff9b:1::a00:1]/",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
    # names that do not resolve here
    "http://no-such-host.invalid/",
]
ACCEPTED = ["http://8.8.8.8/", "http://93.184.216.34:8080/x", "http://[2606:4700:4700::1111]/",
            "http://[::ffff:8.8.8.8]/", "http://[2002:808:808::]/", "http://[64:ff9b::8.8.8.8]/"]


@pytest.mark.parametrize("url", REFUSED)
async def test_every_form_of_an_inside_address_is_refused(url: str) -> None:
    with pytest.raises(RefusedAddress) as refused:
        await OutboundPolicy().resolve(url)
    # A name's refusal names the host, never what it resolves to.
    message = str(refused.value)
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        assert message.startswith(host) and not any(
            revealing in message.removeprefix(host) for revealing in ("127.", "::", "resolves to")), message


@pytest.mark.parametrize("url", ACCEPTED)
async def test_global_addresses_are_accepted(url: str) -> None:
    target = await OutboundPolicy().resolve(url)
    assert target.url.startswith("http://")


def test_a_refusal_does_not_tell_what_a_name_resolves_to() -> None:
    with pytest.raises(RefusedAddress) as refused:
        asyncio.run(OutboundPolicy().resolve("http://localhost:8080/hook"))
    assert str(refused.value) == "localhost is not a public address"


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("::ffff:127.0.0.1", "loopback"), ("100.64.0.1", "non-global"),
    ("fec0::1", "site-local"), ("2002:7f00:1::", "loopback"), ("8.8.8.8", None),
])
def test_forbidden_kinds(address: str, kind: str | None) -> None:
    assert forbidden_kind(ipaddress.ip_address(address)) == kind


async def test_not_http_or_with_credentials_is_refused() -> None:
    policy = OutboundPolicy()
    for url in ("ftp://example.com/x", "file:///etc/passwd", "http://user:pw@example.com/"):
        with pytest.raises(RefusedAddress):
            await policy.resolve(url)


async def test_the_allow_list_names_hosts_or_networks() -> None:
    by_network = await OutboundPolicy("127.0.0.0/8").resolve("http://127.0.0.1:9000/hook?x=1")
    assert by_network.url == "http://127.0.0.1:9000/hook?x=1"
    by_host = await OutboundPolicy("localhost").resolve("http://localhost:9000/hook")
    assert by_host.host_header == "localhost:9000" and by_host.hostname == "localhost"
    with pytest.raises(RefusedAddress):
        await OutboundPolicy("127.0.0.1").resolve("http://10.0.0.1/hook")


@pytest.fixture
async def site() -> AsyncIterator[str]:
    """A loopback server: /page, /redirect (to /page), /loop, /metadata (a 302 to cloud
    metadata), /big (1 MB), /slow."""
    async def page(_: web.Request) -> web.Response:
        return web.Response(text="<p>hello</p>", content_type="text/html")

    async def redirect(request: web.Request) -> web.Response:
        target = {"/redirect": "/page", "/loop": "/loop",
                  "/metadata": "http://169.254.169.254/latest/meta-data/"}[request.path]
        raise web.HTTPFound(target)

    async def big(_: web.Request) -> web.Response:
        return web.Response(body=b"x" * 1_000_000)

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.Response(text="late")

    app = web.Application()
    for path, handler in (("/page", page), ("/redirect", redirect), ("/loop", redirect),
                          ("/metadata", redirect), ("/big", big), ("/slow", slow)):
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_get_follows_redirects_within_the_policy(site: str) -> None:
    policy = OutboundPolicy("127.0.0.1", timeout=5, max_response_bytes=100_000)
    async with httpx.AsyncClient() as client:
        fetched = await policy.get(client, f"{site}/redirect")
        assert fetched.status == 200 and fetched.url == f"{site}/page" and "hello" in fetched.text
        with pytest.raises(RefusedAddress):  # every hop is checked: no 302 into metadata
            await policy.get(client, f"{site}/metadata")
        with pytest.raises(TooManyRedirects):
            await policy.get(client, f"{site}/loop")
        with pytest.raises(RefusedAddress):  # loopback without the allow-list
            await OutboundPolicy().get(client, f"{site}/page")


async def test_get_keeps_to_its_byte_and_time_budgets(site: str) -> None:
    async with httpx.AsyncClient() as client:
        budget = OutboundPolicy("127.0.0.1", timeout=5, max_response_bytes=100_000)
        with pytest.raises(ResponseTooLarge):
            await budget.get(client, f"{site}/big")
        with pytest.raises(TimeoutError):
            await OutboundPolicy("127.0.0.1", timeout=0.5).get(client, f"{site}/slow")
