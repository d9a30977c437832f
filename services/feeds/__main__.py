"""python -m services.feeds: polls the feeds in NEWSFLOW_FEEDS / NEWSFLOW_FEEDS_FILE and
publishes new entries to news.raw, through the same validation as the ingest API."""

import asyncio

from services.feeds.run import run

if __name__ == "__main__":
    asyncio.run(run())
