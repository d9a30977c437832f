"""The deliverer's sink: each alert's state recorded before its offset is committed, the
attempts on their own supervised task (see `__main__` for how the stage runs)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp

from services.delivery.deliverer import Deliverer
from shared.contracts.alerts import ApiKey, Delivery, EndpointHealth, Subscription
from shared.contracts.topology import Topic, topic_name
from shared.runtime.kafka import ensure_topics, partition_of
from shared.runtime.stage import Decoded, Outcome
from shared.runtime.tables import Table
from shared.runtime.tasks import supervised
from shared.settings import get_settings


class DeliverySink:
    def __init__(self, deliverer: Deliverer, tables: list[Table[Any]], session: aiohttp.ClientSession):
        self.deliverer = deliverer
        self.tables = tables
        self.session = session
        self.stop = asyncio.Event()
        # A failure in the loop (a broker timeout while a digest is saved) restarts it: alerts
        # never pile up as pending behind a dead loop while heartbeats say OK.
        self.loop = supervised("delivery attempts", lambda: deliverer.run(self.stop))

    async def write(self, batch: list[Decoded], stop: asyncio.Event) -> list[Outcome]:
        await self.deliverer.accept_all([item.message for item in batch], stop)
        return [None] * len(batch)

    async def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self.loop
        for table in self.tables:
            await table.stop()
        await self.session.close()


async def make_sink(producer: Any, consumer: Any) -> DeliverySink:
    settings = get_settings()
    await ensure_topics(settings)
    keys = Table(settings, Topic.API_KEYS, ApiKey)
    subscriptions = Table(settings, Topic.SUBSCRIPTIONS, Subscription)
    deliveries = Table(settings, Topic.DELIVERIES, Delivery)
    endpoints = Table(settings, Topic.ENDPOINTS, EndpointHealth)
    alerts_topic = topic_name(settings, Topic.ALERTS)

    def owned(owner: str) -> bool:
        """The owner's alerts partition is assigned to this worker (as the producer placed it)."""
        count = len(consumer.partitions_for_topic(alerts_topic) or ())
        if not count:
            return False
        partition = partition_of(owner, count)
        return any(tp.partition == partition for tp in consumer.assignment())

    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=settings.delivery_concurrency, ttl_dns_cache=0))
    # Made before the tables load: it hears every row as it arrives, and keeps only what is in
    # flight (memory does not grow with the delivery history).
    deliverer = Deliverer(settings, producer, subscriptions, deliveries, session, owned, keys=keys,
                          endpoints=endpoints)
    for table in (keys, subscriptions, endpoints, deliveries):
        await table.start()
        await table.wait_caught_up()
    return DeliverySink(deliverer, [keys, subscriptions, endpoints, deliveries], session)
