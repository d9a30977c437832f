"""The linker decides in submission order, whatever order the enrichment workers finish in.

Duplicates and stories are decided greedily against everything before, so the order decides
the answer: on the 2,225 BBC articles, the partition-by-partition order of one worker and the
submission order gave stories that agree only to an adjusted Rand index of 0.55. So the linker
reads ahead, holds what it read, and releases articles sorted by (submitted at, article id)
once no earlier-submitted article can still arrive: an event-time watermark, as stream
processors keep one.

The watermark is read off the stages before: for each input partition of extraction and of
enrichment, the first message its consumer group has not committed is the oldest article still
on its way there; the earliest of their submission times is the watermark (none pending: no
limit). A message that is dead-lettered is committed past, so it does not hold the line.

Bounds, so that a stuck stage upstream cannot stall the linker: an article is released after
MAX_HOLD_SECONDS however the watermark stands, and the oldest go early when what is held
exceeds MAX_HELD_BYTES (both logged; order may then differ from submission order).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared.contracts.headers import Header, header_value
from shared.contracts.topology import PIPELINE, Stage, topic_name
from shared.runtime.dead_letters import Record
from shared.runtime.kafka import make_admin, make_reader, topic_partitions
from shared.runtime.retry import Stopping
from shared.runtime.stage import StageRuntime
from shared.settings import Settings
from shared.text.dates import parse_iso

log = logging.getLogger(__name__)

MAX_HOLD_SECONDS = 120.0
MAX_HELD_BYTES = 100_000_000
WATERMARK_EVERY_SECONDS = 0.1


def submitted_at(record: Record) -> float:
    """The article's submission time from its header (the broker's timestamp if it has none)."""
    value = header_value(record.headers, Header.SUBMITTED_AT)
    broker_time = float(getattr(record, "timestamp", 0)) / 1000
    try:
        return parse_iso(value).timestamp() if value else broker_time
    except ValueError:
        return broker_time


def order_key(record: Record) -> tuple[float, str, int]:
    return submitted_at(record), (record.key or b"").decode(errors="replace"), record.offset


class Watermark:
    """How far upstream has come: no article submitted before `await watermark.read()` is still
    in a stage before the linker (None: nothing is pending at all)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        before = PIPELINE[:[s.stage for s in PIPELINE].index(Stage.LINKING)]
        self.upstream = [s for s in before if s.reads is not None]
        self._admin: AIOKafkaAdminClient | None = None
        # Two consumers: one never assigned, for metadata and offsets (assigning a consumer
        # narrows the topics its metadata covers), one assigned a partition at a time to peek.
        self._offsets: AIOKafkaConsumer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._peeked: dict[tuple[TopicPartition, int], float] = {}

    async def start(self) -> None:
        self._admin = make_admin(self.settings)
        await self._admin.start()
        self._offsets = make_reader(self.settings)
        await self._offsets.start()
        self._consumer = make_reader(self.settings)
        await self._consumer.start()

    async def stop(self) -> None:
        for consumer in (self._consumer, self._offsets):
            if consumer is not None:
                await consumer.stop()
        if self._admin is not None:
            await self._admin.close()

    async def read(self) -> float | None:
        assert self._admin is not None and self._offsets is not None
        oldest: float | None = None
        for stage in self.upstream:
            assert stage.reads is not None
            partitions = await topic_partitions(self._offsets, topic_name(self.settings, stage.reads))
            if not partitions:  # not knowing is not "nothing pending"
                raise RuntimeError(f"no partitions known for {stage.reads}")
            committed = await self._admin.list_consumer_group_offsets(stage.consumer_group(self.settings))
            ends = await self._offsets.end_offsets(partitions)
            starts = await self._offsets.beginning_offsets(partitions)
            for tp in partitions:
                at = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else starts[tp]
                at = max(at, starts[tp])
                if at < ends[tp]:
                    pending = await self._peek(tp, at)
                    oldest = pending if oldest is None else min(oldest, pending)
        if len(self._peeked) > 10_000:  # offsets long committed past are never asked again
            self._peeked.clear()
        return oldest

    async def _peek(self, tp: TopicPartition, offset: int) -> float:
        """The submission time of the message at `offset` (each is read once). Not read in
        time: an error, so the linker holds rather than take a pending article for none."""
        if (tp, offset) in self._peeked:
            return self._peeked[(tp, offset)]
        assert self._consumer is not None
        self._consumer.assign([tp])
        self._consumer.seek(tp, offset)
        batches = await self._consumer.getmany(tp, timeout_ms=2000, max_records=1)
        records = batches.get(tp, [])
        if not records:
            raise RuntimeError(f"could not read {tp.topic}[{tp.partition}] at {offset}")
        self._peeked[(tp, offset)] = submitted_at(records[0])
        return self._peeked[(tp, offset)]


class OrderedRuntime(StageRuntime):
    """The stage runtime with a reorder buffer before the sink (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.watermark = Watermark(self.settings)
        self.held: list[tuple[tuple[float, str, int], float, Record]] = []  # key, held since, record
        self.held_bytes = 0
        self.read_up_to: dict[TopicPartition, int] = {}  # next offset, per partition read
        # The sink's lock and generation (LinkSink): decisions are made holding the lock, and a
        # revocation moves the generation on, which drops what was read before it.
        self.deciding: asyncio.Lock = getattr(self.sink, "deciding", None) or asyncio.Lock()
        self.read_in = self._generation()

    def _generation(self) -> int:
        return int(getattr(self.sink, "generation", 0))

    async def _forget_if_revoked(self) -> None:
        """After a revocation, drop what was read, and read again from the last commit what is
        (again) ours: nothing read before it is decided, nothing read is skipped."""
        if self.read_in == self._generation():
            return
        self.held, self.held_bytes, self.read_up_to = [], 0, {}
        self.read_in = self._generation()
        consumer: Any = self.consumer
        for tp in consumer.assignment():
            committed = await consumer.committed(tp)
            if committed is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, committed)

    async def _run(self, stop: asyncio.Event) -> None:
        await self.watermark.start()
        try:
            while not stop.is_set():
                await self._read_ahead()
                if not self.held:
                    continue
                try:
                    line: float | None = await self.watermark.read()
                except (KafkaError, RuntimeError) as exc:  # unknown is not "nothing pending"
                    log.warning("linking: upstream progress unknown (%s); holding", exc)
                    line = float("-inf")
                await self._catch_up_with_input()  # whatever left upstream before `line` is read
                async with self.deciding:
                    await self._forget_if_revoked()  # revoked while reading: decide nothing
                    ready = self._ready(line)
                    try:
                        if ready:
                            await self.handle(ready, stop)
                    except Stopping:
                        log.info("linking: stopping with %d articles uncommitted",
                                 len(self.held) + len(ready))
                        return
                if not ready:
                    await asyncio.sleep(WATERMARK_EVERY_SECONDS)
                    continue
                await self._commit_held()  # outside the lock: a rebalance may be waiting for it
        finally:
            await self.watermark.stop()

    async def _read_ahead(self, timeout: float | None = None) -> None:
        await self._forget_if_revoked()
        wait = self.bounds.max_seconds if timeout is None and not self.held else (timeout or 0.05)
        batches = await self.consumer.getmany(timeout_ms=int(wait * 1000), max_records=1000)
        now = time.monotonic()
        for tp, records in batches.items():
            for record in records:
                self.held.append((order_key(record), now, record))
                self.held_bytes += len(record.value or b"")
                self.read_up_to[tp] = record.offset + 1

    async def _catch_up_with_input(self) -> None:
        """Reads the input up to its end as of now (after the watermark was read), so an article
        that had already left upstream is held here before the line is applied."""
        consumer: Any = self.consumer
        partitions = sorted(consumer.assignment())
        if not partitions:
            return
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            behind = [tp for tp, end in ends.items()
                      if max(self.read_up_to.get(tp, 0), await consumer.position(tp)) < end]
            if not behind:
                return
            await self._read_ahead(timeout=0.05)

    def _ready(self, line: float | None) -> list[Record]:
        """What can go now, in submission order: everything submitted before the line, and
        whatever has waited too long or must go to keep what is held within bounds."""
        self.held.sort(key=lambda item: item[0])
        now = time.monotonic()
        count, remaining = 0, self.held_bytes
        for key, since, record in self.held:
            early = line is not None and key[0] >= line
            if early and now - since <= MAX_HOLD_SECONDS and remaining <= MAX_HELD_BYTES:
                break
            if early:
                log.warning("linking: releasing %s ahead of the watermark (%s)", key[1],
                            f"held {MAX_HOLD_SECONDS:.0f} s" if now - since > MAX_HOLD_SECONDS
                            else "holding too much")
            count += 1
            remaining -= len(record.value or b"")
        ready = [record for _, _, record in self.held[:count]]
        del self.held[:count]
        self.held_bytes = remaining
        return ready

    async def _commit_held(self) -> None:
        """Up to the first article still held (a restart reads from there; what was released
        after it is decided again from its record, identically)."""
        offsets = dict(self.read_up_to)
        for _, _, record in self.held:
            tp = TopicPartition(record.topic, record.partition)
            offsets[tp] = min(offsets.get(tp, record.offset), record.offset)
        await self.commit_offsets(offsets)
