"""Polls RSS/Atom feeds with conditional GET, fetches each new entry's page, publishes it.

An entry is marked published only after the broker acknowledged it, so a crash in between
publishes it again on restart (at-least-once); its deterministic article id makes that harmless.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx

from services.feeds.state import FeedState
from shared.contracts.messages import RawArticle, SourceInfo
from shared.contracts.submission import Submission, accept_submission
from shared.http.outbound import OutboundError, OutboundPolicy
from shared.settings import Settings

log = logging.getLogger(__name__)

Publish = Callable[[RawArticle], Awaitable[None]]
USER_AGENT = "newsflow-feeds/0.2"


@dataclass
class FeedConfig:
    url: str
    interval_seconds: float
    name: str | None = None


@dataclass
class PollResult:
    not_modified: bool = False
    published: list[str] = field(default_factory=list)  # article ids
    skipped: int = 0  # entries published before
    failed: int = 0


def load_feeds(settings: Settings) -> list[FeedConfig]:
    feeds = [FeedConfig(url.strip(), settings.feed_interval_seconds)
             for url in settings.feeds.split(",") if url.strip()]
    if settings.feeds_file:
        for item in json.loads(settings.feeds_file.read_text()):
            feeds.append(FeedConfig(item["url"],
                                    float(item.get("interval_seconds", settings.feed_interval_seconds)),
                                    item.get("name")))
    return feeds


def entry_key(entry: Any) -> str:
    """A feed entry's identity: its guid, else its link, else a hash of its title and summary."""
    key = entry.get("id") or entry.get("link")
    if key:
        return str(key)
    text = f"{entry.get('title', '')}\n{entry.get('summary', '')}"
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _published(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC) if parsed else None


class FeedPoller:
    def __init__(self, feeds: list[FeedConfig], state: FeedState, publish: Publish,
                 client: httpx.AsyncClient, policy: OutboundPolicy, max_bytes: int) -> None:
        self.feeds = feeds
        self.max_bytes = max_bytes
        self.state = state
        self.publish = publish
        self.client = client
        self.policy = policy  # every feed and page request: address checks, redirects, budgets

    async def poll(self, feed: FeedConfig) -> PollResult:
        etag, last_modified = self.state.validators(feed.url)
        headers = {"User-Agent": USER_AGENT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        response = await self.policy.get(self.client, feed.url, headers=headers)
        if response.status == 304:
            return PollResult(not_modified=True)
        if response.status != 200:
            raise OutboundError(f"the feed answered {response.status}")
        parsed = feedparser.parse(response.content)
        feed_title = feed.name or parsed.feed.get("title")
        result = PollResult()
        for entry in parsed.entries:
            key = entry_key(entry)
            if self.state.is_published(feed.url, key):
                result.skipped += 1
                continue
            try:
                raw = await self._article(entry, feed, feed_title)
            except (httpx.HTTPError, OutboundError, TimeoutError, ValueError) as exc:
                log.warning("feed %s: entry %s failed: %s", feed.url, key, exc)
                result.failed += 1
                continue
            await self.publish(raw)
            self.state.mark_published(feed.url, key, raw.article_id)
            result.published.append(raw.article_id)
        # Validators are saved last: if we crash mid-feed, the next poll sees the feed again.
        self.state.save_validators(feed.url, response.headers.get("ETag"),
                                   response.headers.get("Last-Modified"))
        return result

    async def _article(self, entry: Any, feed: FeedConfig, feed_title: str | None) -> RawArticle:
        """The entry's linked page when it can be read, else the entry's own text; submitted
        through the same validation and size limit as the ingest API."""
        link = entry.get("link")
        common: dict[str, Any] = {
            "published_at": _published(entry),
            "source": SourceInfo(name=feed_title, feed_url=feed.url, client="newsflow-feeds"),
            "authors": [a["name"] for a in entry.get("authors", []) if a.get("name")],
        }
        if link:
            try:
                page = await self.policy.get(self.client, link, headers={"User-Agent": USER_AGENT})
            except (httpx.HTTPError, OutboundError, TimeoutError) as exc:
                log.info("page %s not read (%s); using the feed's own text", link, exc)
            else:
                # Only a page that says it is HTML is read as one.
                if page.status == 200 and "html" in page.headers.get("content-type", ""):
                    return self._accept(Submission(format="html", content=page.text, url=page.url,
                                                   **common))
                log.info("page %s answered %s (%s); using the feed's own text", link,
                         page.status, page.headers.get("content-type", "no content type"))
        # No page to read: the entry's own content, as HTML, is the article.
        content = (entry.get("content") or [{}])[0].get("value") or entry.get("summary") or ""
        if not content.strip():
            raise ValueError("entry has neither a readable page nor any text")
        title = entry.get("title") or ""
        html = f"<html><body><article><h1>{title}</h1>{content}</article></body></html>"
        return self._accept(Submission(format="html", content=html, url=link, title=title or None,
                                       **common))

    def _accept(self, submission: Submission) -> RawArticle:
        return accept_submission(submission, self.max_bytes)

    async def run(self, stop: asyncio.Event) -> None:
        """Polls each feed at its own interval until `stop` is set."""
        due = {feed.url: 0.0 for feed in self.feeds}
        while not stop.is_set():
            now = time.monotonic()
            for feed in self.feeds:
                if due[feed.url] > now:
                    continue
                try:
                    result = await self.poll(feed)
                    log.info("feed %s: %s new, %s seen before, %s failed%s", feed.url,
                             len(result.published), result.skipped, result.failed,
                             " (not modified)" if result.not_modified else "")
                except (httpx.HTTPError, OutboundError, TimeoutError, OSError) as exc:
                    log.warning("feed %s: %s", feed.url, exc)
                due[feed.url] = time.monotonic() + feed.interval_seconds
            wait = max(0.5, min(due.values(), default=60.0) - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
