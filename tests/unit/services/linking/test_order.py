"""The linker's reorder buffer: released in submission order up to the watermark, never held
beyond its bounds, and committed only up to the first article still held."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import TopicPartition

from services.linking import order
from services.linking.order import OrderedRuntime, order_key
from shared.contracts.headers import Header
from shared.contracts.topology import Stage, Topic, spec, topic_name
from shared.runtime.dead_letters import DeadLetterSender
from shared.runtime.stage import BatchBounds
from shared.settings import Settings
from tests.fakes import FakeConsumer, FakeProducer, FakeRecord

SETTINGS = Settings(namespace="unit")
ANALYSED = topic_name(SETTINGS, Topic.ANALYSED)
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def record(offset: int, article_id: str, seconds: float, size: int = 10) -> FakeRecord:
    submitted = (T0 + timedelta(seconds=seconds)).isoformat()
    return FakeRecord(ANALYSED, 0, offset, article_id.encode(), b"x" * size,
                      [(Header.SUBMITTED_AT.value, submitted.encode())])


def runtime(records: list[FakeRecord]) -> tuple[OrderedRuntime, FakeConsumer]:
    consumer = FakeConsumer([])
    linking = OrderedRuntime(spec(Stage.LINKING), SETTINGS, consumer, object(),  # type: ignore[arg-type]
                             DeadLetterSender(FakeProducer(), SETTINGS), BatchBounds(10, 0.01, 0))
    now = time.monotonic()
    for item in records:
        linking.held.append((order_key(item), now, item))
        linking.held_bytes += len(item.value or b"")
        linking.read_up_to[TopicPartition(ANALYSED, 0)] = item.offset + 1
    return linking, consumer


def _line(seconds: float) -> float:
    return (T0 + timedelta(seconds=seconds)).timestamp()


def test_released_in_submission_order_up_to_the_watermark() -> None:
    # Read in the order two workers finished them, not in the order they were submitted.
    linking, _ = runtime([record(0, "c", 3), record(1, "a", 1), record(2, "d", 4), record(3, "b", 2)])
    assert [r.key for r in linking._ready(_line(3.5))] == [b"a", b"b", b"c"]
    assert [key[1] for key, _, _ in linking.held] == ["d"]
    assert [r.key for r in linking._ready(None)] == [b"d"]  # nothing pending upstream: all go


def test_ties_in_time_are_broken_by_article_id() -> None:
    linking, _ = runtime([record(0, "b", 1), record(1, "a", 1)])
    assert [r.key for r in linking._ready(None)] == [b"a", b"b"]


def test_nothing_is_held_beyond_its_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    linking, _ = runtime([record(0, "late", 9)])
    assert linking._ready(_line(1)) == []
    monkeypatch.setattr(order, "MAX_HOLD_SECONDS", -1.0)  # as if it had waited too long
    assert [r.key for r in linking._ready(_line(1))] == [b"late"]
    monkeypatch.setattr(order, "MAX_HOLD_SECONDS", 120.0)
    monkeypatch.setattr(order, "MAX_HELD_BYTES", 150)
    linking, _ = runtime([record(0, "a", 5, size=100), record(1, "b", 6, size=100)])
    assert [r.key for r in linking._ready(_line(1))] == [b"a"]  # the oldest go until it fits
    assert linking.held_bytes == 100


async def test_commits_stop_at_the_first_article_still_held() -> None:
    linking, consumer = runtime([record(0, "c", 3), record(1, "a", 1), record(2, "b", 2)])
    linking._ready(_line(2.5))  # a and b go, c (offset 0) stays
    await linking._commit_held()
    assert consumer.commits == [{TopicPartition(ANALYSED, 0): 0}]
    linking._ready(None)
    await linking._commit_held()
    assert consumer.commits[-1] == {TopicPartition(ANALYSED, 0): 3}


class Revocable(FakeConsumer):
    def __init__(self) -> None:
        super().__init__([])
        self.seeks: list[tuple[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(ANALYSED, 0)}

    async def committed(self, tp: TopicPartition) -> int:
        return 1

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))


class Sink:
    def __init__(self) -> None:
        self.deciding = asyncio.Lock()
        self.generation = 0


async def test_what_was_read_before_a_revocation_is_dropped_and_read_again() -> None:
    consumer, sink = Revocable(), Sink()
    linking = OrderedRuntime(spec(Stage.LINKING), SETTINGS, consumer, sink,  # type: ignore[arg-type]
                             DeadLetterSender(FakeProducer(), SETTINGS), BatchBounds(10, 0.01, 0))
    linking.held.append((order_key(record(1, "a", 1)), time.monotonic(), record(1, "a", 1)))
    await linking._forget_if_revoked()
    assert len(linking.held) == 1 and consumer.seeks == []  # same generation: kept
    sink.generation += 1  # the partition was revoked (and maybe given back)
    await linking._forget_if_revoked()
    assert linking.held == [] and linking.read_up_to == {}
    assert consumer.seeks == [(TopicPartition(ANALYSED, 0), 1)]  # from the last commit again
