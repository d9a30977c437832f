"""The feed poller against feeds and pages served by a local HTTP server (no internet)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from services.feeds.poller import FeedConfig, FeedPoller
from services.feeds.state import FeedState
from shared.contracts.messages import RawArticle
from shared.http.outbound import OutboundPolicy
from shared.runtime.kafka import make_producer, publish_raw
from tests.stack import Pipeline

pytestmark = pytest.mark.integration


def _page(title: str) -> str:
    paragraphs = "".join(
        f"<p>{title}: officials said on Monday that talks in part {n} went on late into the night "
        "and that a second round was planned for next week in the capital.</p>" for n in range(4))
    return f"<html lang='en'><head><title>{title}</title></head><body><article><h1>{title}</h1>" \
           f"{paragraphs}</article></body></html>"


@dataclass
class FeedSite:
    """What the test server serves, and what it was asked."""

    entries: list[str] = field(default_factory=lambda: ["one", "two"])
    etag: str = '"v1"'
    last_modified: str = "Mon, 01 Dec 2025 10:00:00 GMT"
    conditional_hits: int = 0
    feed_requests: list[dict[str, str]] = field(default_factory=list)
    port: int = 0

    def rss(self) -> str:
        items = "".join(
            f"<item><title>Story {e}</title><link>http://127.0.0.1:{self.port}/{e}.html</link>"
            f"<guid>story-{e}</guid><pubDate>Mon, 01 Dec 2025 09:00:00 GMT</pubDate></item>"
            for e in self.entries)
        return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Test Wire</title>" \
               f"{items}</channel></rss>"


@pytest.fixture
def site() -> Iterator[FeedSite]:
    state = FeedSite()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/feed.xml":
                state.feed_requests.append(dict(self.headers))
                if self.headers.get("If-None-Match") == state.etag:
                    state.conditional_hits += 1
                    self.send_response(304)
                    self.end_headers()
                    return
                body = state.rss().encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", state.etag)
                self.send_header("Last-Modified", state.last_modified)
            else:
                body = _page(f"Story {self.path.strip('/').removesuffix('.html')}").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


def policy(pipeline: Pipeline) -> OutboundPolicy:
    # The test server is on loopback, which only the allow-list lets through.
    return OutboundPolicy("127.0.0.1", timeout=10, max_response_bytes=pipeline.settings.max_body_bytes)


async def test_conditional_get_and_no_duplicates_across_restart(
    pipeline: Pipeline, site: FeedSite, tmp_path: Path
) -> None:
    feed = FeedConfig(f"http://127.0.0.1:{site.port}/feed.xml", interval_seconds=60)
    producer = make_producer(pipeline.settings)
    await producer.start()
    published: list[RawArticle] = []

    async def publish(raw: RawArticle) -> None:
        await publish_raw(producer, pipeline.settings, raw)
        published.append(raw)

    state_file = tmp_path / "feeds.sqlite3"
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            first = FeedPoller([feed], FeedState(state_file), publish, client, policy(pipeline),
                               pipeline.settings.max_body_bytes)
            result = await first.poll(feed)
            assert len(result.published) == 2 and not result.not_modified
            # Same feed again: the server is asked conditionally and says 304.
            again = await first.poll(feed)
            assert again.not_modified and again.published == []
            assert site.feed_requests[-1].get("If-None-Match") == '"v1"'
            assert site.feed_requests[-1].get("If-Modified-Since") == site.last_modified
            assert site.conditional_hits == 1
            first.state.close()

            # A restarted poller (new object, same state file) on a changed feed publishes
            # only the new entry.
            site.entries.append("three")
            site.etag = '"v2"'
            restarted = FeedPoller([feed], FeedState(state_file), publish, client, policy(pipeline),
                                   pipeline.settings.max_body_bytes)
            after_restart = await restarted.poll(feed)
            assert len(after_restart.published) == 1 and after_restart.skipped == 2
            restarted.state.close()
    finally:
        await producer.stop()

    assert len(published) == 3 == len({raw.article_id for raw in published})
    raw = published[0]
    assert raw.format == "html" and raw.source.feed_url == feed.url
    assert raw.source.name == "Test Wire" and raw.published_at is not None
    article = await pipeline.wait_for_article(published[-1].article_id)
    assert article["title"] == "Story three"
    assert article["source"]["feed_url"] == feed.url
