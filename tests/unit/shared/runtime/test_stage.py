"""The stage runtime with fake broker clients: dead letters with headers, the limits that stop
a stage, outages that are retried and never dead-lettered, commits only after delivery."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError

from shared.contracts.headers import Header, header_value
from shared.contracts.messages import ExtractedArticle, Quote, RawArticle
from shared.contracts.topology import Stage, Topic, spec, topic_name
from shared.runtime import retry
from shared.runtime.dead_letters import DeadLetterLimit, DeadLetterPolicy, DeadLetterSender, StageHalted
from shared.runtime.stage import BatchBounds, StageRuntime, TopicSink
from shared.settings import Settings
from tests.fakes import FakeConsumer, FakeProducer, FakeRecord

SETTINGS = Settings(namespace="unit")
EXTRACTION = spec(Stage.EXTRACTION)
RAW = topic_name(SETTINGS, Topic.RAW)
OUT = topic_name(SETTINGS, Topic.EXTRACTED)
DLQ = topic_name(SETTINGS, Topic.DEAD_LETTER)
NOW = datetime(2025, 12, 18, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "backoff", lambda attempt: 0.0)


def raw_record(offset: int, article_id: str = "", body: str = "Some text.", partition: int = 0) -> FakeRecord:
    article = RawArticle(article_id=article_id or f"a{offset}", format="fields", title="T",
                         body=body, submitted_at=NOW)
    return FakeRecord(RAW, partition, offset, article.article_id.encode(), article.to_bytes(),
                      [(Header.SUBMITTED_AT.value, NOW.isoformat().encode())])


def step(raw: RawArticle) -> ExtractedArticle:
    """A pure step that refuses bodies saying "poison"."""
    if "poison" in (raw.body or ""):
        raise ValueError("this body cannot be read")
    return ExtractedArticle(article_id=raw.article_id, title=raw.title or "", body=raw.body or "",
                            submitted_at=raw.submitted_at)


LIMIT = DeadLetterLimit(20, 0.5, 200)
Wired = tuple[StageRuntime, FakeConsumer, FakeProducer]


def runtime(records: list[FakeRecord], producer: FakeProducer | None = None,
            limit: DeadLetterLimit = LIMIT) -> Wired:
    producer = producer or FakeProducer()
    consumer = FakeConsumer(records)
    sink = TopicSink(EXTRACTION, SETTINGS, step, producer)
    return (StageRuntime(EXTRACTION, SETTINGS, consumer, sink, DeadLetterSender(producer, SETTINGS),
                         BatchBounds(size=10, max_seconds=0.01, linger_seconds=0.0),
                         DeadLetterPolicy(limit)), consumer, producer)


async def drain(rt: StageRuntime, consumer: FakeConsumer) -> None:
    while consumer.queue:
        records = await rt.collect(asyncio.Event())
        await rt.handle(records, asyncio.Event())
        await rt.commit(records)


async def test_a_poison_message_is_dead_lettered_with_headers_and_the_stage_moves_on() -> None:
    records = [raw_record(0), FakeRecord(RAW, 0, 1, b"bad1", b"\xff{not json", []),
               raw_record(2, body="poison pill"), raw_record(3)]
    rt, consumer, producer = runtime(records)
    await drain(rt, consumer)
    assert [json.loads(s.value)["article_id"] for s in producer.to(OUT)] == ["a0", "a3"]
    letters = producer.to(DLQ)
    assert len(letters) == 2
    undecodable, refused = letters
    assert header_value(undecodable.headers, Header.ERROR_TYPE) == "DecodeError"
    assert json.loads(undecodable.value)["payload_encoding"] == "base64"  # kept byte for byte
    assert header_value(refused.headers, Header.ERROR_STAGE) == "extraction"
    assert header_value(refused.headers, Header.ERROR_TYPE) == "ValueError"
    assert header_value(refused.headers, Header.ERROR_TOPIC) == RAW
    assert header_value(refused.headers, Header.ERROR_OFFSET) == "2"
    assert header_value(refused.headers, Header.ARTICLE_ID) == "a2"
    # The original message's own headers travel with it, for a later replay.
    assert header_value(refused.headers, Header.SUBMITTED_AT) == NOW.isoformat()
    body = json.loads(refused.value)
    assert body["error"] == "this body cannot be read"
    assert json.loads(body["payload"])["body"] == "poison pill"
    assert consumer.commits == [{TopicPartition(RAW, 0): 4}]


async def test_outputs_carry_the_pipeline_headers() -> None:
    rt, consumer, producer = runtime([raw_record(0)])
    await drain(rt, consumer)
    (output,) = producer.to(OUT)
    assert output.key == b"a0"
    assert header_value(output.headers, Header.STAGE) == "extraction"
    assert header_value(output.headers, Header.SUBMITTED_AT) == NOW.isoformat()


async def test_too_many_consecutive_failures_stop_the_stage_without_dead_lettering_the_last() -> None:
    records = [raw_record(n, body="poison") for n in range(5)]
    rt, consumer, producer = runtime(records, limit=DeadLetterLimit(3, 1.0, 100))
    batch = await rt.collect(asyncio.Event())
    with pytest.raises(StageHalted, match="4 invalid messages in a row"):
        await rt.handle(batch, asyncio.Event())
    assert len(producer.to(DLQ)) == 3  # the fourth tripped the limit and was not sent
    assert consumer.commits == []  # nothing committed: after the fix, the batch runs again


async def test_run_stops_loudly_and_commits_nothing() -> None:
    rt, consumer, _ = runtime([raw_record(n, body="poison") for n in range(5)],
                              limit=DeadLetterLimit(2, 1.0, 100))
    with pytest.raises(StageHalted):
        await asyncio.wait_for(rt.run(asyncio.Event()), 5)
    assert consumer.commits == []


def test_an_invalid_share_over_the_window_stops_the_stage() -> None:
    policy = DeadLetterPolicy(DeadLetterLimit(max_consecutive=100, max_ratio=0.5, window=10))
    for _ in range(4):
        policy.record_invalid(ValueError("x"))
        policy.record_valid()
    policy.record_invalid(ValueError("x"))  # 5 of 9: the window is not full yet
    with pytest.raises(StageHalted, match="60%"):
        policy.record_invalid(ValueError("x"))  # 6 of 10


def test_a_valid_message_resets_the_consecutive_count() -> None:
    policy = DeadLetterPolicy(DeadLetterLimit(max_consecutive=2, max_ratio=1.0, window=100))
    for _ in range(10):
        policy.record_invalid(ValueError("x"))
        policy.record_invalid(ValueError("x"))
        policy.record_valid()


async def test_a_broker_outage_is_retried_not_dead_lettered() -> None:
    producer = FakeProducer(KafkaConnectionError(), fail_sends=2, fail_deliveries=1)
    rt, consumer, producer = runtime([raw_record(0), raw_record(1)], producer)
    await drain(rt, consumer)
    assert sorted(json.loads(s.value)["article_id"] for s in producer.to(OUT)) == ["a0", "a1"]
    assert producer.to(DLQ) == []
    assert consumer.commits == [{TopicPartition(RAW, 0): 2}]


async def test_an_output_the_broker_refuses_as_too_large_is_dead_lettered() -> None:
    producer = FakeProducer(MessageSizeTooLargeError(), fail_deliveries=1)
    rt, consumer, producer = runtime([raw_record(0), raw_record(1)], producer)
    await drain(rt, consumer)
    assert [json.loads(s.value)["article_id"] for s in producer.to(OUT)] == ["a1"]
    (letter,) = producer.to(DLQ)
    assert header_value(letter.headers, Header.ERROR_TYPE) == "MessageSizeTooLarge"


async def test_commits_name_the_next_offset_of_every_partition() -> None:
    records = [raw_record(7, partition=1), raw_record(3, partition=0), raw_record(8, partition=1)]
    rt, consumer, _ = runtime(records)
    await drain(rt, consumer)
    assert consumer.commits == [{TopicPartition(RAW, 1): 9, TopicPartition(RAW, 0): 4}]


async def test_offsets_of_partitions_moved_during_the_batch_are_left_to_their_new_owner() -> None:
    records = [raw_record(7, partition=1), raw_record(3, partition=0)]
    rt, consumer, _ = runtime(records)
    consumer.assignment = lambda: {TopicPartition(RAW, 0)}  # type: ignore[attr-defined]
    await drain(rt, consumer)
    assert consumer.commits == [{TopicPartition(RAW, 0): 4}]
    consumer.assignment = lambda: set()  # type: ignore[attr-defined]
    await rt.commit([raw_record(9, partition=0)])  # nothing left to commit: no call at all
    assert len(consumer.commits) == 1


class PartitionedConsumer(FakeConsumer):
    """Serves like aiokafka: the first partition with records until it is drained."""

    def __init__(self, records: list[FakeRecord]) -> None:
        super().__init__([])
        self.queues: dict[TopicPartition, list[FakeRecord]] = {}
        for record in records:
            self.queues.setdefault(TopicPartition(record.topic, record.partition), []).append(record)

    def assignment(self) -> set[TopicPartition]:
        return set(self.queues)

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Any]]:
        for tp, queue in self.queues.items():
            if queue and (not partitions or tp in partitions):
                taken, self.queues[tp] = queue[:max_records], queue[max_records:]
                return {tp: taken}
        return {}


async def test_a_batch_takes_a_fair_share_of_every_partitions_backlog() -> None:
    records = [raw_record(n, partition=p) for p in (0, 1) for n in range(20)]
    consumer = PartitionedConsumer(records)
    rt = StageRuntime(EXTRACTION, SETTINGS, consumer, TopicSink(EXTRACTION, SETTINGS, step, FakeProducer()),
                      DeadLetterSender(FakeProducer(), SETTINGS), BatchBounds(10, 0.01, 0.0))
    for _ in range(3):
        batch = await rt.collect(asyncio.Event())
        assert sorted(Counter(r.partition for r in batch).values()) == [5, 5]


async def test_stopping_during_an_outage_leaves_the_batch_uncommitted() -> None:
    producer = FakeProducer(KafkaConnectionError(), fail_sends=10**6)
    rt, consumer, _ = runtime([raw_record(0)], producer)
    stop = asyncio.Event()
    task = asyncio.create_task(rt.run(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert consumer.commits == []


async def test_a_step_may_make_several_outputs_or_none_each_under_its_key() -> None:
    def fan_out(raw: RawArticle) -> list[ExtractedArticle]:
        count = int(raw.body or "0")
        return [ExtractedArticle(article_id=f"{raw.article_id}-{n}", title="T", body="b",
                                 submitted_at=raw.submitted_at) for n in range(count)]

    producer = FakeProducer()
    sink = TopicSink(EXTRACTION, SETTINGS, fan_out, producer, key_of=lambda out: out.title.encode())
    consumer = FakeConsumer([raw_record(0, body="2"), raw_record(1, body="0")])
    rt = StageRuntime(EXTRACTION, SETTINGS, consumer, sink, DeadLetterSender(producer, SETTINGS),
                      BatchBounds(10, 0.1, 0.0))
    await drain(rt, consumer)
    assert [json.loads(s.value)["article_id"] for s in producer.to(OUT)] == ["a0-0", "a0-1"]
    assert {s.key for s in producer.to(OUT)} == {b"T"}
    assert consumer.commits[-1] == {TopicPartition(RAW, 0): 2}


SMALL = Settings(namespace="unit", max_message_bytes=100_000)


def quoting(raw: RawArticle) -> ExtractedArticle:
    """Finds as many quotes as the body asks for: an output far larger than its input."""
    count, _, body = (raw.body or "").partition(" ")
    return ExtractedArticle(article_id=raw.article_id, title="T", body=body or "b",
                            submitted_at=raw.submitted_at, related=["elsewhere"],
                            quotes=[Quote(text="q" * 1000)] * int(count))


def small_runtime(records: list[FakeRecord]) -> Wired:
    producer = FakeProducer(max_bytes=SMALL.max_message_bytes + 100_000)
    consumer = FakeConsumer(records)
    sink = TopicSink(EXTRACTION, SMALL, quoting, producer)
    return (StageRuntime(EXTRACTION, SMALL, consumer, sink, DeadLetterSender(producer, SMALL),
                         BatchBounds(10, 0.01, 0.0), DeadLetterPolicy(LIMIT)), consumer, producer)


async def test_an_output_over_the_message_limit_is_trimmed_by_the_contracts_rule() -> None:
    rt, consumer, producer = small_runtime([raw_record(0, body="300 The body stays.")])
    await drain(rt, consumer)
    (output,) = producer.to(OUT)
    assert len(output.value) <= SMALL.max_message_bytes
    article = json.loads(output.value)
    assert article["body"] == "The body stays."
    assert article.get("quotes", []) == [] and article.get("related", []) == []
    assert article["trimmed"] == ["related", "quotes"]
    assert producer.to(DLQ) == []


async def test_an_output_that_cannot_fit_is_dead_lettered_and_a_huge_payload_is_referenced() -> None:
    huge = "0 " + "word " * 30_000  # the body alone is over the limit; nothing may be trimmed
    rt, consumer, producer = small_runtime([raw_record(5, body=huge), raw_record(6, body="1 fine")])
    await drain(rt, consumer)
    assert [json.loads(s.value)["article_id"] for s in producer.to(OUT)] == ["a6"]
    (letter,) = producer.to(DLQ)
    body = json.loads(letter.value)
    assert body["error_type"] == "MessageSizeTooLarge" and "100000" in body["error"]
    # The original is too large for a dead letter too: it stays where it was, referenced.
    assert body["payload_omitted"] is True and body["payload"] == ""
    assert (body["source_topic"], body["partition"], body["offset"]) == (RAW, 0, 5)
    assert consumer.commits == [{TopicPartition(RAW, 0): 7}]
