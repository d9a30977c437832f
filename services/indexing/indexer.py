"""news.enriched → Elasticsearch.

Batches are bounded by count and by time. Every item of every bulk response is read: 429 and
5xx items are retried with backoff, other rejections go to the dead-letter topic. Kafka offsets
are committed only once Elasticsearch has acknowledged (or we dead-lettered) every message of the
batch, so a crash replays the batch, and `_id` = article id makes the replay harmless.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import CommitFailedError
from elasticsearch import AsyncElasticsearch, TransportError
from elasticsearch import ConnectionError as ESConnectionError

from shared.contracts import DeadLetter, EnrichedArticle, Stage, article_id_of, parse_json
from shared.kafka import send_dead_letter
from shared.search_index import ensure_index
from shared.settings import Settings

log = logging.getLogger(__name__)

_RETRYABLE = {429, 500, 502, 503, 504}
_MAX_BACKOFF = 30.0


@dataclass
class Pending:
    record: ConsumerRecord[bytes, bytes]
    article_id: str
    document: dict[str, Any]


def backoff(attempt: int) -> float:
    """Exponential with jitter, so retrying workers do not hammer Elasticsearch in step."""
    return float(min(_MAX_BACKOFF, 0.2 * 2**attempt) * (0.5 + random.random() / 2))


class Indexer:
    def __init__(
        self,
        settings: Settings,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        es: AsyncElasticsearch,
    ) -> None:
        self.settings = settings
        self.consumer = consumer
        self.producer = producer
        self.es = es
        self.indexed = 0
        self.dead_lettered = 0

    async def run(self, stop: asyncio.Event) -> None:
        await ensure_index(self.es, self.settings)
        while not stop.is_set():
            records = await self._collect(stop)
            if not records:
                continue
            await self.index_batch(records)
            try:
                await self.consumer.commit()
            except CommitFailedError as exc:
                # A rebalance took the partitions away; their new owner replays the batch,
                # which rewrites the same documents under the same ids.
                log.warning("offset commit failed after a rebalance: %s", exc)

    async def _collect(self, stop: asyncio.Event) -> list[ConsumerRecord[bytes, bytes]]:
        """Waits for the first record, then lingers briefly for more: a lone article is indexed
        at once, a burst fills batches. Bounded by `index_batch_size` and `index_batch_seconds`."""
        size = self.settings.index_batch_size
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + self.settings.index_batch_seconds
        while len(records) < size and not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            wait = remaining if not records else min(remaining, self.settings.index_linger_seconds)
            batches = await self.consumer.getmany(timeout_ms=int(wait * 1000),
                                                  max_records=size - len(records))
            fetched = [record for partition in batches.values() for record in partition]
            if records and not fetched:
                break  # nothing more is arriving right now
            records.extend(fetched)
        return records

    async def index_batch(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        pending: list[Pending] = []
        for record in records:
            try:
                article = EnrichedArticle.model_validate(parse_json(record.value))
            except Exception as exc:  # a bad message must not block the batch
                await self._dead_letter(record, None, exc)
                continue
            pending.append(Pending(record, article.article_id, article.to_document()))

        attempt = outage = 0
        while pending:
            try:
                response = await self.es.bulk(operations=self._operations(pending))
            except (ESConnectionError, TransportError) as exc:
                # Elasticsearch is unreachable: nothing is lost while we wait, offsets stay put.
                delay = backoff(outage)
                log.warning("bulk request failed (%s); retrying in %.1fs", exc, delay)
                outage += 1
                await asyncio.sleep(delay)
                continue
            retry: list[Pending] = []
            for item, result in zip(pending, response["items"], strict=True):
                outcome = result["index"]
                status = int(outcome["status"])
                if status < 300:
                    self.indexed += 1
                elif status in _RETRYABLE and attempt < self.settings.index_max_retries:
                    retry.append(item)
                else:
                    await self._dead_letter(item.record, item.article_id,
                                            RuntimeError(json.dumps(outcome.get("error", status))),
                                            error_type=f"elasticsearch:{status}")
            if retry:
                attempt += 1
                delay = backoff(attempt)
                log.warning("%d documents throttled or failed; retrying in %.1fs", len(retry), delay)
                await asyncio.sleep(delay)
            pending = retry

    def _operations(self, pending: list[Pending]) -> list[dict[str, Any]]:
        operations: list[dict[str, Any]] = []
        for item in pending:
            operations.append({"index": {"_index": self.settings.index_alias, "_id": item.article_id}})
            operations.append(item.document)
        return operations

    async def _dead_letter(
        self,
        record: ConsumerRecord[bytes, bytes],
        article_id: str | None,
        exc: Exception,
        error_type: str | None = None,
    ) -> None:
        letter = DeadLetter.for_payload(
            record.value, stage=Stage.INDEXING, error=str(exc)[:2000],
            error_type=error_type or type(exc).__name__,
            article_id=article_id or article_id_of(record.key, record.value),
            source_topic=record.topic, partition=record.partition, offset=record.offset,
        )
        await send_dead_letter(self.producer, self.settings, letter)
        self.dead_lettered += 1
