"""news.enriched → Elasticsearch: the stage runtime's batching sink.

Every item of every bulk response is read: 2xx is delivered; 429 and 5xx items are retried
with backoff up to `index_max_retries` times, then dead-lettered; any other rejection is the
document's fault and dead-lettered at once. An unreachable Elasticsearch is an outage: the
batch waits (nothing is committed meanwhile) and goes again when it is back.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from elasticsearch import ConnectionError as ESConnectionError
from elasticsearch import TransportError

from shared.contracts.document import to_document
from shared.contracts.messages import EnrichedArticle
from shared.runtime.dead_letters import InvalidMessage, backoff
from shared.runtime.metrics import BULK_DOCUMENTS, BULK_RETRIES
from shared.runtime.stage import Decoded, Outcome, sleep_unless_stopped
from shared.settings import Settings

log = logging.getLogger(__name__)

RETRYABLE = {429, 500, 502, 503, 504}


@dataclass
class Pending:
    position: int  # in the batch
    article_id: str
    document: dict[str, Any]


class BulkIndexSink:
    def __init__(self, settings: Settings, es: Any) -> None:
        self.settings = settings
        self.es = es
        self.indexed = 0
        self.retried = 0

    async def close(self) -> None:
        await self.es.close()

    async def write(self, batch: list[Decoded], stop: asyncio.Event) -> list[Outcome]:
        outcomes: list[Outcome] = [None] * len(batch)
        pending: list[Pending] = []
        for position, decoded in enumerate(batch):
            article: EnrichedArticle = decoded.message
            pending.append(Pending(position, article.article_id, to_document(article)))
        attempt = outage = 0
        while pending:
            try:
                BULK_DOCUMENTS.observe(len(pending))
                response = await self.es.bulk(operations=self._operations(pending))
            except (ESConnectionError, TransportError) as exc:
                # Elasticsearch is unreachable: nothing is lost while we wait, offsets stay put.
                delay = backoff(outage)
                outage += 1
                log.warning("bulk request failed (%s); retrying in %.1fs", exc, delay)
                await sleep_unless_stopped(stop, delay)
                continue
            retry: list[Pending] = []
            for item, result in zip(pending, response["items"], strict=True):
                outcome = result["index"]
                status = int(outcome["status"])
                if status < 300:
                    self.indexed += 1
                elif status in RETRYABLE and attempt < self.settings.index_max_retries:
                    retry.append(item)
                else:
                    outcomes[item.position] = InvalidMessage(
                        json.dumps(outcome.get("error", status)), f"elasticsearch:{status}")
            if retry:
                attempt += 1
                self.retried += len(retry)
                BULK_RETRIES.inc(len(retry))
                delay = backoff(attempt)
                log.warning("%d documents throttled or failed; retrying in %.1fs", len(retry), delay)
                await sleep_unless_stopped(stop, delay)
            pending = retry
        return outcomes

    def _operations(self, pending: list[Pending]) -> list[dict[str, Any]]:
        operations: list[dict[str, Any]] = []
        for item in pending:
            operations.append({"index": {"_index": self.settings.index_alias, "_id": item.article_id}})
            operations.append(item.document)
        return operations
