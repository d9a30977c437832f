"""The bulk index sink with a fake Elasticsearch: throttled items retried with backoff, retries
exhausted to dead letters, rejections dead-lettered at once, outages waited out, and (through
the stage runtime) offsets committed only after Elasticsearch acknowledged."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import TopicPartition
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError
from elasticsearch import ConnectionError as ESConnectionError

from services.indexing import sink as sink_module
from services.indexing.sink import BulkIndexSink
from shared.contracts.headers import Header, header_value
from shared.contracts.messages import EnrichedArticle
from shared.contracts.topology import Stage, Topic, spec, topic_name
from shared.runtime import stage as stage_module
from shared.runtime.dead_letters import DeadLetterSender
from shared.runtime.stage import BatchBounds, Decoded, StageRuntime
from shared.settings import Settings
from tests.fakes import FakeConsumer, FakeProducer, FakeRecord

SETTINGS = Settings(namespace="unit", index_max_retries=2)
ENRICHED = topic_name(SETTINGS, Topic.ENRICHED)
DLQ = topic_name(SETTINGS, Topic.DEAD_LETTER)
NOW = datetime(2025, 12, 18, tzinfo=UTC)


class FakeElasticsearch:
    """Answers bulk requests from a script: each entry is a list of statuses (one per item) or
    an exception to raise."""

    def __init__(self, script: list[list[int] | BaseException | str]) -> None:
        self.script = script
        self.requests: list[list[str]] = []  # the ids of each bulk request

    async def bulk(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        ids = [op["index"]["_id"] for op in operations[::2]]
        self.requests.append(ids)
        step = self.script.pop(0) if self.script else [201] * len(ids)
        if isinstance(step, BaseException):
            raise step
        if step == "hang":
            await asyncio.Event().wait()
        if step == "413 if many":
            if len(ids) > 1:
                raise api_error(413)
            step = [201]
        assert isinstance(step, list)
        assert len(step) == len(ids)
        return {"errors": any(s >= 300 for s in step), "items": [
            {"index": {"_id": i, "status": s, **({"error": {"type": "x", "reason": f"status {s}"}}
                                                  if s >= 300 else {})}}
            for i, s in zip(ids, step, strict=True)]}


def connection_error() -> ESConnectionError:
    return ESConnectionError("connection refused")


def api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                           node=NodeConfig("http", "localhost", 9200))
    return ApiError(f"status {status}", meta=meta, body={"error": {"type": "x"}})


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sink_module, "backoff", lambda attempt: 0.0)


def article(n: int) -> EnrichedArticle:
    return EnrichedArticle(article_id=f"a{n}", title="T", body="B", submitted_at=NOW)


def decoded(n: int) -> Decoded:
    a = article(n)
    return Decoded(FakeRecord(ENRICHED, 0, n, a.article_id.encode(), a.to_bytes()), a)


async def write(es: FakeElasticsearch, count: int, stop: asyncio.Event | None = None) -> list[Any]:
    return await BulkIndexSink(SETTINGS, es).write([decoded(n) for n in range(count)],
                                                    stop or asyncio.Event())


async def test_every_item_acknowledged_is_delivered() -> None:
    es = FakeElasticsearch([[201, 200]])
    assert await write(es, 2) == [None, None]
    assert es.requests == [["a0", "a1"]]


async def test_throttled_items_are_retried_alone_until_accepted() -> None:
    es = FakeElasticsearch([[201, 429, 503], [429, 200], [201]])
    assert await write(es, 3) == [None, None, None]
    assert es.requests == [["a0", "a1", "a2"], ["a1", "a2"], ["a1"]]


async def test_a_document_that_keeps_failing_alone_goes_to_dead_letters() -> None:
    # index_max_retries=2: three tries in all, while the other document was accepted.
    es = FakeElasticsearch([[201, 503], [503], [503]])
    outcomes = await write(es, 2)
    assert outcomes[0] is None
    assert outcomes[1] is not None and outcomes[1].error_type == "elasticsearch:503"
    assert len(es.requests) == 3


async def test_throttling_and_write_blocks_are_waited_out_however_long() -> None:
    # Far more than index_max_retries: 429 and a 403 write block are the index's state.
    es = FakeElasticsearch([[429, 403]] * 6 + [[403, 201], [403], [201]])
    assert await write(es, 2) == [None, None]
    assert len(es.requests) == 9


async def test_every_document_failing_with_5xx_is_an_outage() -> None:
    es = FakeElasticsearch([[503, 500]] * 5 + [[201, 201]])
    assert await write(es, 2) == [None, None]


async def test_whole_request_errors_are_outages_and_413_splits_the_request() -> None:
    es = FakeElasticsearch([api_error(429), api_error(503), api_error(403), "413 if many",
                            "413 if many", "413 if many"])
    assert await write(es, 3) == [None, None, None]
    assert sorted(map(len, es.requests)) == [1, 1, 1, 2, 3, 3, 3, 3]


async def test_a_single_document_too_large_for_elasticsearch_is_dead_lettered() -> None:
    es = FakeElasticsearch([api_error(413)])
    (outcome,) = await write(es, 1)
    assert outcome is not None and outcome.error_type == "elasticsearch:413"


async def test_stopping_abandons_a_request_that_hangs() -> None:
    es = FakeElasticsearch(["hang"])
    stop = asyncio.Event()
    task = asyncio.create_task(write(es, 1, stop))
    await asyncio.sleep(0.01)
    stop.set()
    with pytest.raises(stage_module.Stopping):
        await asyncio.wait_for(task, 2)


async def test_a_rejected_document_is_dead_lettered_at_once() -> None:
    es = FakeElasticsearch([[201, 400]])
    outcomes = await write(es, 2)
    assert outcomes[0] is None
    assert outcomes[1] is not None and outcomes[1].error_type == "elasticsearch:400"
    assert "status 400" in str(outcomes[1])
    assert len(es.requests) == 1


async def test_an_outage_is_waited_out_not_dead_lettered() -> None:
    es = FakeElasticsearch([connection_error(), connection_error(), [201]])
    assert await write(es, 1) == [None]
    assert len(es.requests) == 3


async def test_stopping_during_an_outage_abandons_the_batch() -> None:
    es = FakeElasticsearch([connection_error()] * 1000)
    stop = asyncio.Event()
    stop.set()
    with pytest.raises(stage_module.Stopping):
        await write(es, 1, stop)


async def test_the_runtime_commits_only_after_elasticsearch_acknowledged() -> None:
    records = [decoded(n).record for n in range(3)] + [FakeRecord(ENRICHED, 0, 3, None, b"[1, 2]")]
    consumer, producer = FakeConsumer(records), FakeProducer()
    es = FakeElasticsearch([connection_error(), [201, 201, 400]])
    runtime = StageRuntime(spec(Stage.INDEXING), SETTINGS, consumer, BulkIndexSink(SETTINGS, es),
                           DeadLetterSender(producer, SETTINGS), BatchBounds(10, 0.01, 0.0))
    batch = await runtime.collect(asyncio.Event())
    await runtime.handle(batch, asyncio.Event())
    assert consumer.commits == []  # not before every message was delivered or dead-lettered
    await runtime.commit(batch)
    assert consumer.commits == [{TopicPartition(ENRICHED, 0): 4}]
    letters = producer.to(DLQ)
    assert sorted(header_value(s.headers, Header.ERROR_TYPE) or "" for s in letters) == [
        "DecodeError", "elasticsearch:400"]
    rejected = next(json.loads(s.value) for s in letters
                    if header_value(s.headers, Header.ERROR_TYPE) == "elasticsearch:400")
    assert rejected["article_id"] == "a2" and rejected["stage"] == "indexing"

