"""What the history stages write: alert entries (news.alerts) and delivery states
(news.deliveries) into their daily indices, through the indexing stage's bulk sink (so an
unreachable or refusing Elasticsearch is waited out the same way, and the stage's lag is what
the history is behind), and the retention that drops whole indices past their days.

An alert event is an entry once: the first for an alert id is the alert, a later article of
its story an update, a repeat (a replay of the topic, the same article again) nothing. The
entries of recent alert ids are remembered (at most `KNOWN_ALERTS`); others are looked up in
the history itself (`Timeline`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypeVar

from elasticsearch import ApiError, TransportError
from elasticsearch import ConnectionError as ESConnectionError

from services.indexing.sink import BulkIndexSink, Pending
from shared.contracts.alerts import AlertEvent, Delivery
from shared.contracts.history import (
    Timeline,
    alert_entry,
    alerts_alias,
    daily_index,
    deliveries_alias,
    delivery_document,
    delivery_version,
    entry_id,
    expired,
)
from shared.contracts.messages import utcnow
from shared.runtime.elasticsearch import check_elasticsearch, ensure_history, make_client
from shared.runtime.retry import until_acknowledged
from shared.runtime.stage import BatchBounds, Decoded
from shared.runtime.tasks import supervised
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

KNOWN_ALERTS = 100_000
ES_TRANSIENT = (ESConnectionError, TransportError, ApiError)


class AlertHistorySink(BulkIndexSink):
    def __init__(self, settings: Settings, es: Any) -> None:
        super().__init__(settings, es)
        self.alias = alerts_alias(settings)
        self.timeline = Timeline(KNOWN_ALERTS)
        self.refreshed = False

    async def documents(self, batch: list[Decoded], stop: asyncio.Event | None = None) -> list[Pending]:
        unknown = sorted({d.message.alert_id for d in batch if d.message.alert_id not in self.timeline})
        if unknown:
            for alert_id, articles in (await self._look_up(unknown, stop)).items():
                self.timeline.learn(alert_id, articles)
        pending: list[Pending] = []
        for position, decoded in enumerate(batch):
            event: AlertEvent = decoded.message
            record = decoded.record
            kind = self.timeline.kind(event, record.offset)
            if kind is None:
                continue  # a repeat: its entry is there
            pending.append(Pending(position, {"index": {
                "_index": daily_index(self.alias, event.matched_at), "_id": entry_id(event, kind)}},
                alert_entry(event, kind, record.partition, record.offset)))
        return pending

    async def _look_up(self, alert_ids: list[str], stop: asyncio.Event | None) -> dict[str, dict[str, int]]:
        """The articles (and offsets) the history has for these alert ids; Elasticsearch away:
        waited out. The index is refreshed before the first look-up only: what a previous
        worker wrote just before this one took over becomes visible; later, what this worker
        wrote is in its timeline, and a partition changes hands slower than the 1 s refresh."""
        found: dict[str, dict[str, int]] = {}
        async for attempt in until_acknowledged("history: looking up alerts", stop, ES_TRANSIENT):
            with attempt:
                if not self.refreshed:
                    await self.es.indices.refresh(index=self.alias, ignore_unavailable=True,
                                                  allow_no_indices=True)
                    self.refreshed = True
                answer = await self.es.search(
                    index=self.alias, ignore_unavailable=True, allow_no_indices=True, size=10_000,
                    query={"terms": {"alert_id": alert_ids}},
                    source=["alert_id", "article_id", "offset"])
                for hit in answer["hits"]["hits"]:
                    entry = hit["_source"]
                    found.setdefault(entry["alert_id"], {})[entry["article_id"]] = int(entry["offset"])
        return found


class DeliveryHistorySink(BulkIndexSink):
    def __init__(self, settings: Settings, es: Any) -> None:
        super().__init__(settings, es)
        self.alias = deliveries_alias(settings)

    async def documents(self, batch: list[Decoded], stop: asyncio.Event | None = None) -> list[Pending]:
        newest: dict[str, tuple[int, Delivery]] = {}
        for position, decoded in enumerate(batch):
            delivery: Delivery = decoded.message
            known = newest.get(delivery.delivery_id)
            if known is None or known[1].updated_at <= delivery.updated_at:
                newest[delivery.delivery_id] = (position, delivery)
        return [Pending(position, {"index": {
            "_index": daily_index(self.alias, delivery.created_at), "_id": delivery.delivery_id,
            "version": delivery_version(delivery), "version_type": "external_gte"}},
            delivery_document(delivery)) for position, delivery in newest.values()]


async def drop_expired(es: Any, alias: str, days: int) -> list[str]:
    """Deletes the alias's daily indices older than `days`; returns their names."""
    found = await es.indices.get_alias(index=f"{alias}-*", ignore_unavailable=True, allow_no_indices=True)
    now = utcnow()
    old = sorted(name for name in found.body if expired(name, alias, days, now))
    if old:
        await es.indices.delete(index=",".join(old), ignore_unavailable=True)
        log.info("history: dropped %s (older than %d days)", ", ".join(old), days)
    return old


async def keep_dropping_expired(es: Any, alias: str, days: int, every: float = 3600.0) -> None:
    while True:
        await drop_expired(es, alias, days)
        await asyncio.sleep(every)


S = TypeVar("S", AlertHistorySink, DeliveryHistorySink)


async def with_retention(sink_type: type[S], settings: Settings, alias: str) -> S:
    """The sink, with its templates in place and its retention running beside it."""
    await check_elasticsearch(settings)
    es = make_client(settings)
    await ensure_history(es, settings)
    sink = sink_type(settings, es)
    sink.background = supervised(f"{alias} retention", lambda: keep_dropping_expired(
        es, alias, settings.alert_history_days))
    return sink


async def alert_history_sink(_producer: Any, _consumer: Any) -> AlertHistorySink:
    settings = get_settings()
    return await with_retention(AlertHistorySink, settings, alerts_alias(settings))


async def delivery_history_sink(_producer: Any, _consumer: Any) -> DeliveryHistorySink:
    settings = get_settings()
    return await with_retention(DeliveryHistorySink, settings, deliveries_alias(settings))


def bounds(settings: Settings) -> BatchBounds:
    """History entries are small: bulk requests as large as the indexer's, sent within 0.5 s."""
    return BatchBounds(settings.index_batch_size, 0.5, 0.05)
