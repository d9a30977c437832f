"""The outbound address policy: what it refuses, and what the allow-list lets through."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator

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


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("10.1.2.3", "private"), ("192.168.0.10", "private"), ("172.16.5.4", "private"),
    ("169.254.169.254", "link-local"),  # cloud metadata
    ("fe80::1", "link-local"), ("fd00:ec2::254", "private"),  # AWS metadata over IPv6
    ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"),
    ("8.8.8.8", None), ("2606:4700:4700::1111", None),
])
def test_forbidden_addresses(address: str, kind: str | None) -> None:
    assert forbidden_kind(ipaddress.ip_address(address)) == kind


async def test_loopback_and_metadata_are_refused_by_name_and_by_number() -> None:
    policy = OutboundPolicy()
    for url in ("http://localhost:8080/hook", "http://127.0.0.1/hook", "http://169.254.169.254/latest",
                "http://[::1]/hook", "http://0x7f000001/hook"):
        with pytest.raises(RefusedAddress):
            await policy.resolve(url)


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
