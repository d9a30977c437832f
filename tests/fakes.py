"""Fakes of the broker's and Elasticsearch's client objects, for unit tests of the runtime and
the sinks. They record what they were asked and can be told to fail."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import MessageSizeTooLargeError


@dataclass
class FakeRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class FakeConsumer:
    """Hands out its records in batches; remembers commits."""

    def __init__(self, records: Iterable[FakeRecord]) -> None:
        self.queue = list(records)
        self.commits: list[dict[TopicPartition, int]] = []

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Any]]:
        if not self.queue:
            await asyncio.sleep(0)
            return {}
        taken, self.queue = self.queue[:max_records], self.queue[max_records:]
        batches: dict[TopicPartition, list[Any]] = {}
        for record in taken:
            batches.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
        return batches

    async def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        self.commits.append(dict(offsets or {}))


@dataclass
class Sent:
    topic: str
    value: bytes
    key: bytes | None
    headers: list[tuple[str, bytes]]


class FakeProducer:
    """Acknowledges sends, except that the first `fail_sends` sends raise `error` and the
    first `fail_deliveries` deliveries fail with `error`."""

    def __init__(self, error: BaseException | None = None, fail_sends: int = 0,
                 fail_deliveries: int = 0, max_bytes: int | None = None) -> None:
        self.sent: list[Sent] = []
        self.error = error
        self.fail_sends = fail_sends
        self.fail_deliveries = fail_deliveries
        self.max_bytes = max_bytes  # like the producer's max_request_size

    async def send(self, topic: str, value: bytes, key: bytes | None = None,
                   headers: list[tuple[str, bytes]] | None = None) -> asyncio.Future[Any]:
        if self.max_bytes is not None and len(value) > self.max_bytes:
            raise MessageSizeTooLargeError()
        if self.fail_sends > 0:
            self.fail_sends -= 1
            assert self.error is not None
            raise self.error
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.fail_deliveries > 0:
            self.fail_deliveries -= 1
            assert self.error is not None
            future.set_exception(self.error)
        else:
            self.sent.append(Sent(topic, value, key, list(headers or [])))
            future.set_result(None)
        return future

    async def send_and_wait(self, topic: str, value: bytes, key: bytes | None = None,
                            headers: list[tuple[str, bytes]] | None = None, **_: Any) -> None:
        await (await self.send(topic, value, key, headers))

    def to(self, topic: str) -> list[Sent]:
        return [s for s in self.sent if s.topic == topic]
