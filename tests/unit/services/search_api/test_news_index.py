"""NewsIndex against a fake Elasticsearch client: the bound on requests in flight, and cursors
that page on without a point in time when the node has none to spare."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError as ESApiError

from services.search_api.news_index import NewsIndex
from shared.http.errors import ApiError


def es_error(status: int) -> ESApiError:
    meta = ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                           node=NodeConfig("http", "localhost", 9200))
    return ESApiError("too many", meta=meta, body={})


class FakeES:
    def __init__(self, hang: bool = False, pit_error: int | None = None) -> None:
        self.hang, self.pit_error = hang, pit_error
        self.searches: list[dict[str, Any]] = []
        self.closed: list[str] = []

    async def search(self, **body: Any) -> dict[str, Any]:
        self.searches.append(body)
        if self.hang:
            await asyncio.Event().wait()
        return {"hits": {"total": {"value": 0}, "hits": []}}

    async def open_point_in_time(self, **_: Any) -> dict[str, Any]:
        if self.pit_error:
            raise es_error(self.pit_error)
        return {"id": "pit-9"}

    async def close_point_in_time(self, id: str) -> None:
        self.closed.append(id)


async def test_requests_beyond_the_bound_wait_then_answer_busy() -> None:
    index = NewsIndex(FakeES(hang=True), "news", max_concurrent=2, queue_seconds=0.1)  # type: ignore[arg-type]
    held = [asyncio.create_task(index.search({"size": 1})) for _ in range(2)]
    await asyncio.sleep(0.01)
    with pytest.raises(ApiError) as caught:
        await index.search({"size": 1})
    assert caught.value.status == 503 and caught.value.code == "busy"
    assert caught.value.headers == {"Retry-After": "1"}
    for task in held:
        task.cancel()
    await asyncio.gather(*held, return_exceptions=True)
    index.es.hang = False  # type: ignore[attr-defined]
    assert (await index.search({"size": 1}))["hits"]["hits"] == []  # the slots came back


async def test_without_a_point_in_time_to_spare_a_cursor_pages_from_the_index() -> None:
    es = FakeES(pit_error=429)
    index = NewsIndex(es, "news")  # type: ignore[arg-type]
    await index.search_in(None, {"size": 2, "search_after": [1.0, "a2"]})
    (body,) = es.searches
    assert "pit" not in body and body["index"] == "news" and body["search_after"] == [1.0, "a2"]


async def test_a_cursor_opens_one_point_in_time_and_closing_frees_it() -> None:
    es = FakeES()
    index = NewsIndex(es, "news")  # type: ignore[arg-type]
    await index.search_in(None, {"size": 2})
    assert es.searches[0]["pit"] == {"id": "pit-9", "keep_alive": "1m"}
    await index.close_pit("pit-9")
    assert es.closed == ["pit-9"]


class Refreshing:
    """`indices.stats` as a node answers it: the generation as it is when the read reaches it."""

    def __init__(self) -> None:
        self.generation = 0
        self.reads = 0
        self.indices = self

    async def stats(self, **_: Any) -> dict[str, Any]:
        self.reads += 1
        seen = self.generation
        await asyncio.sleep(0.05)
        return {"_all": {"total": {"refresh": {"total": seen, "external_total": seen}}}}


async def test_generation_reads_are_shared_but_never_older_than_the_call() -> None:
    es = Refreshing()
    index = NewsIndex(es, "news")  # type: ignore[arg-type]
    first = asyncio.create_task(index.generation())
    await asyncio.sleep(0.01)  # the first read is in flight, and has seen generation 0
    es.generation = 1  # a refresh lands
    later = await asyncio.gather(*(index.generation() for _ in range(20)))
    assert await first == 0
    assert later == [1] * 20  # they waited for the read after theirs began, and shared it
    assert es.reads == 2
