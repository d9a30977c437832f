"""python -m services.indexing"""

from __future__ import annotations

import asyncio
import logging
import signal

from services.indexing.indexer import Indexer
from shared.contracts import Stage, Topic
from shared.kafka import ensure_topics, make_consumer, make_producer
from shared.search_index import make_client
from shared.settings import get_settings


async def main() -> None:
    settings = get_settings()
    await ensure_topics(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    consumer = make_consumer(settings, Stage.INDEXING, Topic.ENRICHED)
    producer = make_producer(settings)
    es = make_client(settings)
    await producer.start()
    await consumer.start()
    logging.getLogger(__name__).info("indexing into %s", settings.index_alias)
    try:
        await Indexer(settings, consumer, producer, es).run(stop)
    finally:
        await consumer.stop()
        await producer.stop()
        await es.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(main())
