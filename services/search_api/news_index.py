"""The search API's one door to Elasticsearch: the news alias, the queries the routes send, and
the translation of Elasticsearch's errors into API errors. Routes get it as a dependency, and
HTTP tests replace it with a fake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from elasticsearch import (
    ApiError as ElasticsearchApiError,
)
from elasticsearch import (
    AsyncElasticsearch,
    BadRequestError,
    NotFoundError,
    TransportError,
)

from services.search_api.cache import AnswerCache
from services.search_api.query import SearchRequest, article_excludes, bounds_body
from shared.http.errors import ApiError

log = logging.getLogger(__name__)

# A cursor's point in time lives this long after its last page was read (each page renews it),
# and is closed as soon as its last page is served: an abandoned cursor costs a minute of a
# search context, not an open one forever.
PIT_KEEP_ALIVE = "1m"
BOUNDS_TTL = 60.0  # seconds the index's oldest/newest dates are reused for histogram intervals


def unavailable() -> ApiError:
    return ApiError(503, "unavailable", "the search engine is not reachable; try again shortly",
                    headers={"Retry-After": "5"})


def busy(limit: int) -> ApiError:
    return ApiError(503, "busy", f"the search engine is answering {limit} requests already; "
                    "try again in a moment", headers={"Retry-After": "1"})


class NewsIndex:
    """`max_concurrent` bounds the requests one API process has in flight at Elasticsearch: a
    burst of heavy searches queues here (for at most `queue_seconds`, then 503 busy) instead of
    piling onto the node and slowing every other search down."""

    def __init__(self, es: AsyncElasticsearch, alias: str, max_concurrent: int = 8,
                 queue_seconds: float = 5.0, cache: AnswerCache | None = None) -> None:
        self.es = es
        self.cache = cache  # first pages' answers (None: every search goes to Elasticsearch)
        self._reading: asyncio.Task[int] | None = None  # the generation read in flight
        self._next: asyncio.Task[int] | None = None  # the one after it, which new calls share
        self.alias = alias
        self._bounds: dict[str, Any] | None = None
        self._bounds_at = 0.0
        self.max_concurrent = max_concurrent
        self.queue_seconds = queue_seconds
        self._slots = asyncio.Semaphore(max_concurrent)

    async def search(self, body: dict[str, Any], request_cache: bool = False) -> dict[str, Any]:
        options = {"request_cache": True} if request_cache else {}
        try:
            return await self._call(self.es.search, index=self.alias, **body, **options)
        except NotFoundError as exc:  # the index itself is missing: not the client's fault
            raise unavailable() from exc

    async def search_in(self, pit_id: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """A later page of a cursor: inside one point in time, so pages see one snapshot. When
        the node has no point in time to spare (too many open), the page is read from the
        index with the same search_after: the stable sort still never repeats an article, though
        one written meanwhile may appear."""
        if not pit_id:
            try:
                opened = await self._call(self.es.open_point_in_time, index=self.alias,
                                          keep_alive=PIT_KEEP_ALIVE)
                pit_id = str(opened["id"])
            except ElasticsearchApiError as exc:  # 429 / 400: search.max_open_pit_context
                log.warning("no point in time for a cursor (%s); paging without one", exc)
                return await self.search(body)
        try:
            return await self._call(self.es.search, **body,
                                    pit={"id": pit_id, "keep_alive": PIT_KEEP_ALIVE})
        except NotFoundError:
            raise ApiError(400, "bad_cursor", "the cursor has expired; search again") from None

    async def close_pit(self, pit_id: str) -> None:
        """The cursor's last page was served: free its search context now."""
        with contextlib.suppress(Exception):
            await self.es.close_point_in_time(id=pit_id)

    async def article(self, article_id: str) -> dict[str, Any]:
        try:
            document = await self._call(self.es.get, index=self.alias, id=article_id,
                                        source_excludes=article_excludes())
        except NotFoundError:
            raise ApiError(404, "not_found", f"no article with id {article_id!r}") from None
        return {"id": document["_id"], **document["_source"]}

    async def bounds(self) -> dict[str, Any]:
        """The index's date range, refreshed at most every BOUNDS_TTL seconds: one cheap
        request a minute instead of one more per search, to size the histogram's bars."""
        if self._bounds is None or time.monotonic() - self._bounds_at > BOUNDS_TTL:
            self._bounds = await self.search(bounds_body(SearchRequest(hide_duplicates=False)))
            self._bounds_at = time.monotonic()
        return self._bounds

    async def generation(self) -> int:
        """The index's refresh generation: refreshes that changed what searches see, summed
        over every copy of every shard (services/search_api/cache.py: why that makes the
        answer cache exact), as read *after* this call began.

        Callers share reads: with one read in flight (begun before this call, so possibly
        older than what it must see), this call waits for the next read, which every call
        arriving meanwhile shares; under load that is one read per round trip, not one per
        search."""
        reading = self._reading
        if reading is None or reading.done():
            reading = self._reading = asyncio.create_task(self._read_generation())
            return await asyncio.shield(reading)
        if self._next is None:  # the read in flight may predate this call: wait for the next
            self._next = asyncio.create_task(self._read_after(reading))
        return await asyncio.shield(self._next)

    async def _read_after(self, current: asyncio.Task[int]) -> int:
        with contextlib.suppress(Exception):
            await current
        # Now the read in flight: calls from here on wait for the one after it.
        self._reading, self._next = asyncio.current_task(), None
        return await self._read_generation()

    async def _read_generation(self) -> int:
        stats = await self._call(self.es.indices.stats, index=self.alias, metric="refresh",
                                 filter_path="_all.total.refresh")
        refresh = stats["_all"]["total"]["refresh"]
        return int(refresh.get("external_total", refresh.get("total", 0)))

    async def status(self) -> str:
        try:
            health = await self.es.cluster.health(timeout="2s")
            return str(health["status"])
        except Exception:
            return "unreachable"

    async def _call(self, method: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            await asyncio.wait_for(self._slots.acquire(), self.queue_seconds)
        except TimeoutError:
            raise busy(self.max_concurrent) from None
        try:
            response = await method(**kwargs)
        except BadRequestError as exc:
            raise ApiError(400, "bad_query", "the search engine rejected the query",
                           _root_cause(exc)) from None
        except NotFoundError:
            raise
        except (TransportError, ElasticsearchApiError) as exc:
            if isinstance(exc, ElasticsearchApiError) and exc.meta.status < 500:
                raise
            raise unavailable() from exc
        finally:
            self._slots.release()
        return dict(response.body if hasattr(response, "body") else response)


def _root_cause(exc: BadRequestError) -> Any:
    body = exc.body if isinstance(exc.body, dict) else {}
    causes = body.get("error", {}).get("root_cause") or [{}]
    return causes[0].get("reason") or exc.message
