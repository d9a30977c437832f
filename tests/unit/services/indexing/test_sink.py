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

    def __init__(self, script: list[list[int] | BaseException]) -> None:
        self.script = script
        self.requests: list[list[str]] = []  # the ids of each bulk request

    async def bulk(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        ids = [op["index"]["_id"] for op in operations[::2]]
        self.requests.append(ids)
        step = self.script.pop(0) if self.script else [201] * len(ids)
        if isinstance(step, BaseException):
            raise step
        assert len(step) == len(ids)
        return {"errors": any(s >= 300 for s in step), "items": [
            {"index": {"_id": i, "status": s, **({"error": {"type": "x", "reason": f"status {s}"}}
                                                  if s >= 300 else {})}}
            for i, s in zip(ids, step, strict=True)]}


def connection_error() -> ESConnectionError:
    return ESConnectionError("connection refused")


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


async def test_retries_exhausted_go_to_dead_letters() -> None:
    es = FakeElasticsearch([[429], [429], [429]])  # index_max_retries=2: three tries in all
    (outcome,) = await write(es, 1)
    assert outcome is not None and outcome.error_type == "elasticsearch:429"
    assert len(es.requests) == 3


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

