"""The feed poller as a process: its connections checked, its state opened, the feeds polled
until SIGTERM (see `__main__`)."""

from __future__ import annotations

import asyncio
import signal

import httpx

from services.feeds.poller import FeedPoller, load_feeds
from services.feeds.state import FeedState
from shared.contracts.messages import RawArticle
from shared.http.outbound import OutboundPolicy
from shared.runtime.kafka import check_kafka, ensure_topics, make_producer, publish_raw
from shared.runtime.logs import configure_logging
from shared.runtime.preflight import exit_on_problem
from shared.runtime.security import ConnectionProblem
from shared.settings import get_settings


async def run() -> None:
    settings = get_settings()
    configure_logging(settings.log_format)
    feeds = load_feeds(settings)
    if not feeds:
        raise SystemExit("no feeds configured: set NEWSFLOW_FEEDS or NEWSFLOW_FEEDS_FILE")
    try:
        await check_kafka(settings)
    except ConnectionProblem as problem:
        exit_on_problem(problem)
    await ensure_topics(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    state = FeedState(settings.feeds_state or settings.cache_dir / "state" / "feeds.sqlite3")
    producer = make_producer(settings)
    await producer.start()

    async def publish(raw: RawArticle) -> None:
        await publish_raw(producer, settings, raw)

    timeout = httpx.Timeout(settings.feed_fetch_timeout_seconds)
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            policy = OutboundPolicy(settings.outbound_allow, settings.feed_fetch_timeout_seconds,
                                    max_response_bytes=settings.max_body_bytes)
            await FeedPoller(feeds, state, publish, client, policy, settings.max_body_bytes).run(stop)
    finally:
        await producer.stop()
        state.close()
