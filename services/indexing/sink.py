"""news.enriched → Elasticsearch: the stage runtime's batching sink.

Every item of every bulk response is read. What is the document's fault is dead-lettered; what
is the index's is waited out, since an unavailable index is an outage like a refused connection,
and good articles must not end up in dead letters because of it:
- 2xx: delivered.
- 403 (a write block, missing privileges) and 429 (throttled) items: the index's state, never the
  document's; retried with backoff for as long as it lasts.
- 5xx items: when every item of the request failed so, an outage (waited out); when others
  were accepted, those are retried `index_max_retries` times, then dead-lettered (a document that keeps
  breaking a shard must not stall its partition).
- 409 (a version conflict): delivered; a newer version is already there (the history's
  delivery states are written with external versions, replays of older states lose).
- Any other 4xx item (a mapping conflict, say): dead-lettered at once.
- A whole request refused as too large (413) is split in halves; a single document refused so
  is dead-lettered. Any other whole-request error, and an unreachable Elasticsearch: an outage.
Nothing is committed while the batch waits, and SIGTERM ends the wait (`Stopping`), even in
the middle of a request, so the batch is left for the next owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from elasticsearch import ApiError, TransportError
from elasticsearch import ConnectionError as ESConnectionError

from shared.contracts.document import to_document
from shared.contracts.messages import EnrichedArticle
from shared.runtime.dead_letters import InvalidMessage
from shared.runtime.elasticsearch import check_elasticsearch, ensure_index, make_client
from shared.runtime.metrics import BULK_DOCUMENTS, BULK_RETRIES, INDEX_UNAVAILABLE
from shared.runtime.retry import Stopping, backoff, sleep_unless_stopped
from shared.runtime.stage import BatchBounds, Decoded, Outcome
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

UNAVAILABLE = {403, 429}  # the index's state, not the document's
SERVER_ERRORS = {500, 502, 503, 504}


@dataclass
class Pending:
    position: int  # in the batch
    action: dict[str, Any]  # the bulk action line: {"index": {"_index": ..., "_id": ...}}
    document: dict[str, Any]


class BulkIndexSink:
    """The batching sink for any stage that writes Elasticsearch documents: `documents` says
    what each message becomes (none, for a message with nothing to write); this class gets
    them in, whatever Elasticsearch goes through."""

    def __init__(self, settings: Settings, es: Any) -> None:
        self.settings = settings
        self.es = es
        self.indexed = 0
        self.retried = 0
        self.background: asyncio.Task[None] | None = None  # a task that ends with the sink

    async def close(self) -> None:
        if self.background is not None:
            self.background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.background
        await self.es.close()

    async def documents(self, batch: list[Decoded], stop: asyncio.Event | None = None) -> list[Pending]:
        """The news index: one document per article, by its id."""
        pending: list[Pending] = []
        for position, decoded in enumerate(batch):
            article: EnrichedArticle = decoded.message
            pending.append(Pending(position, {"index": {"_index": self.settings.index_alias,
                                                        "_id": article.article_id}},
                                   to_document(article)))
        return pending

    async def write(self, batch: list[Decoded], stop: asyncio.Event) -> list[Outcome]:
        outcomes: list[Outcome] = [None] * len(batch)
        pending = await self.documents(batch, stop)
        if not pending:
            return outcomes
        chunks = [pending]
        while chunks:
            chunk = chunks.pop()
            halves = await self._write_chunk(chunk, outcomes, stop)
            chunks.extend(halves)
        return outcomes

    async def _write_chunk(self, pending: list[Pending], outcomes: list[Outcome],
                           stop: asyncio.Event) -> list[list[Pending]]:
        """Writes one bulk request's worth until every item is delivered or dead-lettered;
        returns the halves to write instead when the request is too large."""
        attempt = outage = 0
        accepted = False  # any document of this chunk: then 5xx for the others are theirs
        while pending:
            try:
                BULK_DOCUMENTS.observe(len(pending))
                response = await self._bulk(pending, stop)
            except ApiError as exc:
                if exc.meta.status == 413:
                    if len(pending) > 1:
                        middle = len(pending) // 2
                        return [pending[:middle], pending[middle:]]
                    outcomes[pending[0].position] = InvalidMessage(
                        "the document is larger than Elasticsearch accepts in a request (413)",
                        "elasticsearch:413")
                    return []
                outage = await self._wait_out(f"bulk request refused ({exc.meta.status}: {exc})",
                                              outage, stop)
                continue
            except (ESConnectionError, TransportError) as exc:
                outage = await self._wait_out(f"bulk request failed ({exc})", outage, stop)
                continue
            results = [(item, next(iter(result.values()))) for item, result in
                       zip(pending, response["items"], strict=True)]
            failed = [(item, int(r["status"])) for item, r in results
                      if int(r["status"]) >= 300 and int(r["status"]) != 409]
            self.indexed += len(results) - len(failed)
            accepted = accepted or len(failed) < len(results)
            if failed and not accepted and all(
                    status in UNAVAILABLE | SERVER_ERRORS for _, status in failed):
                pending = [item for item, _ in failed]
                outage = await self._wait_out(f"every document refused ({failed[0][1]})", outage, stop)
                continue
            retry: list[Pending] = []
            errors = {item.position: r for item, r in results}
            for item, status in failed:
                if status in UNAVAILABLE or (status in SERVER_ERRORS
                                             and attempt < self.settings.index_max_retries):
                    retry.append(item)
                else:
                    outcomes[item.position] = InvalidMessage(
                        json.dumps(errors[item.position].get("error", status)), f"elasticsearch:{status}")
            if retry:
                attempt += 1
                self.retried += len(retry)
                BULK_RETRIES.inc(len(retry))
                delay = backoff(attempt)
                log.warning("%d documents throttled or failed; retrying in %.1fs", len(retry), delay)
                await sleep_unless_stopped(stop, delay)
            pending = retry
        return []

    async def _bulk(self, pending: list[Pending], stop: asyncio.Event) -> Any:
        """The bulk request, abandoned (Stopping) as soon as the stage is asked to stop: the
        client's own retries and timeouts can outlast a SIGTERM by far."""
        request = asyncio.ensure_future(self.es.bulk(operations=self._operations(pending)))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({request, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not request.done():
            request.cancel()
            raise Stopping()
        return request.result()

    async def _wait_out(self, what: str, outage: int, stop: asyncio.Event) -> int:
        INDEX_UNAVAILABLE.inc()
        delay = backoff(outage)
        log.warning("%s; Elasticsearch is treated as unavailable, retrying in %.1fs", what, delay)
        await sleep_unless_stopped(stop, delay)
        return outage + 1

    def _operations(self, pending: list[Pending]) -> list[dict[str, Any]]:
        operations: list[dict[str, Any]] = []
        for item in pending:
            operations.append(item.action)
            operations.append(item.document)
        return operations


async def make_sink(_producer: Any, _consumer: Any) -> BulkIndexSink:
    settings = get_settings()
    await check_elasticsearch(settings)
    es = make_client(settings)
    await ensure_index(es, settings)
    return BulkIndexSink(settings, es)


def bounds(settings: Settings) -> BatchBounds:
    """A bulk request goes out when it is full or has waited long enough."""
    return BatchBounds(settings.index_batch_size, settings.index_batch_seconds, settings.index_linger_seconds)
