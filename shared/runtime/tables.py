"""Topics read whole: a compacted topic as a table in memory, or a log followed from its start.

No consumer group: every reader reads every partition from the beginning, then keeps
following. `caught_up` is set once the reader has reached the end offsets it saw at start, so
a service can wait until its view is complete before it acts on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import BaseModel, ValidationError

from shared.contracts.topology import Topic, topic_name
from shared.runtime.kafka import make_reader, topic_partitions
from shared.runtime.tasks import supervised
from shared.settings import Settings

log = logging.getLogger(__name__)

Apply = Callable[[Any], None]  # gets each consumer record, in partition order


class TopicFollower:
    """`last`: start each partition that many records before its end instead of at its start
    (a view of the recent past whose start time does not grow with the topic's history)."""

    def __init__(self, settings: Settings, topic: Topic, apply: Apply, last: int | None = None) -> None:
        self.settings = settings
        self.last = last
        self.topic = topic
        self.name = topic_name(settings, topic)
        self.apply = apply
        self.caught_up = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        consumer = make_reader(self.settings, auto_offset_reset="earliest", fetch_max_wait_ms=100)
        await consumer.start()
        try:
            partitions = await topic_partitions(consumer, self.name)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            if self.last is not None:
                begins = await consumer.beginning_offsets(partitions)
                for tp in partitions:
                    consumer.seek(tp, max(begins[tp], ends[tp] - self.last))
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer
        self._task = supervised(f"follow {self.name}", lambda: self._follow(ends))

    async def _follow(self, ends: dict[Any, int]) -> None:
        assert self._consumer is not None
        if all(end == 0 for end in ends.values()):
            self.caught_up.set()
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=1000)
            except KafkaError as exc:  # the broker is away: the view waits, it does not die
                log.warning("%s: fetch failed (%s); retrying", self.name, exc)
                await asyncio.sleep(1.0)
                continue
            for records in batches.values():
                for record in records:
                    try:
                        self.apply(record)
                    except Exception:  # one bad record must not stop the view
                        log.exception("%s: could not apply offset %s", self.name, record.offset)
            if not self.caught_up.is_set():
                positions = {tp: await self._consumer.position(tp) for tp in ends}
                if all(positions[tp] >= end for tp, end in ends.items()):
                    self.caught_up.set()

    async def catch_up(self, timeout: float = 120.0) -> None:
        """Until everything on the topic *now* has been applied (not only what was there at
        start): a linker taking over waits here for the last decisions of the one before."""
        assert self._consumer is not None
        consumer = self._consumer
        deadline = asyncio.get_running_loop().time() + timeout
        ends = await consumer.end_offsets(list(consumer.assignment()))
        while not all([await consumer.position(tp) >= end for tp, end in ends.items()]):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{self.name}: not caught up after {timeout:.0f}s")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        task, consumer, self._task, self._consumer = self._task, self._consumer, None, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if consumer is not None:
            await consumer.stop()


M = TypeVar("M", bound=BaseModel)
LET_GO_REMEMBERED = 200_000


@dataclass(frozen=True, slots=True)
class _Version:
    updated_at: datetime


def _older(value: Any, current: Any) -> bool:
    """Rows that carry `updated_at` only move forward: a writer applies its own writes at
    once, so the topic's echo of an earlier write may arrive after a later one."""
    new, old = getattr(value, "updated_at", None), getattr(current, "updated_at", None)
    return new is not None and old is not None and new < old


class Table(Generic[M]):
    """A compacted topic in memory: message key → the last value, decoded with `model`
    (`models_by_prefix` picks another model for keys with a prefix). Listeners hear each change
    (key, new value or None when deleted)."""

    def __init__(self, settings: Settings, topic: Topic, model: type[M],
                 models_by_prefix: dict[str, type[BaseModel]] | None = None) -> None:
        self.model = model
        self.models_by_prefix = models_by_prefix or {}
        self.rows: dict[str, Any] = {}
        self.listeners: list[Callable[[str, Any], None]] = []
        # Which rows stay in memory (None: all); listeners hear every change either way. The
        # versions of the last rows let go are remembered, so the topic's echo of an earlier
        # state (written by this process a moment before) does not bring a row back.
        self.keep: Callable[[Any], bool] | None = None
        self.let_go: OrderedDict[str, Any] = OrderedDict()
        self.follower = TopicFollower(settings, topic, self._apply_record)

    def _apply_record(self, record: Any) -> None:
        if record.key is None:
            return
        key = record.key.decode()
        if record.value is None:
            self.apply(key, None)
            return
        model = next((m for prefix, m in self.models_by_prefix.items() if key.startswith(prefix)),
                     self.model)
        try:
            value = model.model_validate_json(record.value)
        except ValidationError as exc:
            log.error("%s: skipping an unreadable record under %r: %s", self.follower.name, key, exc)
            return
        let_go = self.let_go.get(key)
        updated_at = getattr(value, "updated_at", None)
        if _older(value, self.rows.get(key)) or (
                let_go is not None and updated_at is not None and updated_at <= let_go.updated_at):
            return  # the echo of a write this process has already superseded
        self.apply(key, value)

    def apply(self, key: str, value: Any) -> None:
        """Also called by writers with what they just wrote: read-your-writes without waiting
        for the topic to echo it (the echo re-applies the same value)."""
        if value is None or (self.keep is not None and not self.keep(value)):
            self.rows.pop(key, None)
            if value is not None and getattr(value, "updated_at", None) is not None:
                self.let_go[key] = _Version(value.updated_at)
                self.let_go.move_to_end(key)
                while len(self.let_go) > LET_GO_REMEMBERED:
                    self.let_go.popitem(last=False)
        else:
            self.rows[key] = value
            self.let_go.pop(key, None)
        for listener in self.listeners:
            listener(key, value)

    def get(self, key: str) -> M | None:
        value = self.rows.get(key)
        return value if isinstance(value, self.model) else None

    def values(self) -> list[M]:
        return [v for v in self.rows.values() if isinstance(v, self.model)]

    async def start(self) -> None:
        await self.follower.start()

    async def wait_caught_up(self, timeout: float = 60.0) -> None:
        await asyncio.wait_for(self.follower.caught_up.wait(), timeout)

    async def stop(self) -> None:
        await self.follower.stop()


async def write_row(producer: AIOKafkaProducer, settings: Settings, topic: Topic, key: str,
                    value: BaseModel | None) -> None:
    """One table row, acknowledged by the broker (None deletes it)."""
    payload = value.model_dump_json(exclude_none=True).encode() if value is not None else None
    await producer.send_and_wait(topic_name(settings, topic), payload, key=key.encode())
