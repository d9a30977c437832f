"""The feed poller's outbound requests go through the one policy: a linked page is read only
when it is HTML, within the byte budget, and reached without a hop to a forbidden address;
otherwise the entry's own text is the article (the hostile cases from issue 11)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from services.feeds.poller import FeedConfig, FeedPoller
from services.feeds.state import FeedState
from shared.contracts.messages import RawArticle
from shared.http.outbound import OutboundPolicy

ENTRIES = ("plain", "notype", "metadata", "big")


@pytest.fixture
async def site() -> AsyncIterator[str]:
    base = ""

    async def feed(_: web.Request) -> web.Response:
        items = "".join(f"<item><title>Story {e}</title><link>{base}/{e}</link><guid>g-{e}</guid>"
                        f"<description>Summary of {e} from the feed.</description></item>" for e in ENTRIES)
        return web.Response(text=f"<rss version='2.0'><channel><title>T</title>{items}</channel></rss>",
                            content_type="application/rss+xml")

    async def page(request: web.Request) -> web.Response:
        name = request.path.strip("/")
        html = (f"<html><body><article><h1>Page {name}</h1><p>Text of the page {name}.</p>"
                "</article></body></html>")
        if name == "plain":
            return web.Response(text=html, content_type="text/html")
        if name == "notype":
            response = web.Response(body=html.encode())
            response.headers.popall("Content-Type", None)
            return response
        if name == "metadata":
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")
        return web.Response(text=html + "<p>x</p>" * 20_000, content_type="text/html")  # big

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    for name in ENTRIES:
        app.router.add_get(f"/{name}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    yield base
    await runner.cleanup()


async def test_pages_outside_the_policy_fall_back_to_the_entry_text(site: str, tmp_path: Path) -> None:
    published: list[RawArticle] = []

    async def publish(raw: RawArticle) -> None:
        published.append(raw)

    feed = FeedConfig(f"{site}/feed.xml", interval_seconds=60)
    policy = OutboundPolicy("127.0.0.1", timeout=5, max_response_bytes=50_000)
    async with httpx.AsyncClient() as client:
        poller = FeedPoller([feed], FeedState(tmp_path / "feeds.sqlite3"), publish, client, policy, 1_000_000)
        result = await poller.poll(feed)
        poller.state.close()
    assert len(result.published) == 4 and result.failed == 0
    content = {raw.url.rsplit("/", 1)[-1] if raw.url else "": raw.content or "" for raw in published}
    assert "Text of the page plain." in content["plain"]
    for name in ("notype", "metadata", "big"):
        assert f"Summary of {name} from the feed." in content[name]
        assert "Text of the page" not in content[name]
