"""What the monitor measures, every `monitor_poll_seconds`, from the topology table (a new stage
or topic shows up without code here):

- per topic: partitions, end offsets, messages retained, messages in per second (end-offset
  deltas), newest message time (from the tail), oldest retained message time (a fetch from
  each partition's start once a minute); sizes in bytes need the DescribeLogDirs API, which
  aiokafka's admin client does not have, so retained *messages* stand in;
- per consuming stage's group and partition: committed offset, lag in messages, lag in seconds
  (lag.py), Burrow status (status.py) with the live workers from their heartbeats;
- per stage: time in the stage (the message timestamps of its input and output topics, joined
  on the article id) and ingest → enriched/alerted/indexed (the submitted-at header; the
  index's `indexed_at`), as percentiles over the last 5 minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from services.monitor.lag import OffsetHistory
from services.monitor.status import PartitionWindow, Status, group_status
from services.monitor.windows import TimeWindow
from shared.contracts.document import DocField
from shared.contracts.headers import Header, header_value
from shared.contracts.monitor import (
    GroupStatus,
    GroupView,
    LatencySummary,
    PartitionStatus,
    PartitionView,
    TopicView,
    WorkerView,
)
from shared.contracts.ops import WorkerHeartbeat
from shared.contracts.topology import (
    INDEXER,
    TOPOLOGY,
    Topic,
    consuming_stages,
    topic_name,
    watched_topics,
)
from shared.runtime.kafka import ensure_topics, make_admin, make_reader, topic_partitions
from shared.runtime.metrics import (
    CONSUMER_LAG,
    CONSUMER_LAG_SECONDS,
    GROUP_STATUS,
    LIVE_WORKERS,
    STAGE_LATENCY,
    TOPIC_END_OFFSET,
)
from shared.runtime.tables import Table
from shared.runtime.tasks import supervised
from shared.settings import Settings
from shared.text.dates import parse_iso

log = logging.getLogger(__name__)

# Topics whose messages carry an article (from the topology table): the tail joins them on the
# article id.
TAILED = watched_topics()
JOIN_SECONDS = 300.0
OLDEST_EVERY_SECONDS = 60.0
STATUS_VALUE = {Status.OK: 0, Status.WARN: 1, Status.ERR: 2}


@dataclass
class PartitionState:
    end: int = 0
    begin: int = 0
    history: OffsetHistory = field(default_factory=OffsetHistory)


@dataclass
class TopicState:
    partitions: dict[int, PartitionState] = field(default_factory=dict)
    rates: TimeWindow = field(default_factory=lambda: TimeWindow(seconds=600))
    last_total: int | None = None
    last_at: float = 0.0
    newest_at: float | None = None
    oldest_at: float | None = None  # the oldest message still retained


class Collector:
    def __init__(self, settings: Settings, es: Any = None) -> None:
        self.settings = settings
        self.es = es
        self.topics: dict[Topic, TopicState] = {topic: TopicState() for topic in Topic}
        self.windows: dict[tuple[str, int], PartitionWindow] = {}
        self.groups: list[GroupView] = []
        self.latency: dict[str, TimeWindow] = {}
        self.seen: dict[str, dict[Topic, float]] = {}  # article id → topic → message time
        self.seen_at: dict[str, float] = {}
        self.heartbeats = Table(settings, Topic.HEARTBEATS, WorkerHeartbeat)
        self.indexed_since: str | None = None
        self.polls = 0
        self.oldest_checked = 0.0
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None
        self._tail: AIOKafkaConsumer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.ready = asyncio.Event()

    # -- life cycle ------------------------------------------------------------------------
    async def start(self) -> None:
        await ensure_topics(self.settings)
        self._admin = make_admin(self.settings)
        await self._admin.start()
        self._offsets = make_reader(self.settings)
        await self._offsets.start()
        self._tail = make_reader(self.settings)
        await self._tail.start()
        tailed = [tp for topic in TAILED
                  for tp in await topic_partitions(self._tail, topic_name(self.settings, topic))]
        self._tail.assign(tailed)
        await self._tail.seek_to_end(*tailed)
        await self.heartbeats.start()
        self._tasks = [supervised("monitor poll", self._polling),
                       supervised("monitor tail", self._tailing)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.heartbeats.stop()
        for client in (self._tail, self._offsets):
            if client is not None:
                await client.stop()
        if self._admin is not None:
            await self._admin.close()

    async def _polling(self) -> None:
        while True:
            try:
                await self.poll_once(time.time())
                self.ready.set()
            except KafkaError as exc:
                log.warning("monitor: poll failed (%s); next poll as usual", exc)
            except Exception:
                log.exception("monitor: poll failed")
            await asyncio.sleep(self.settings.monitor_poll_seconds)

    # -- offsets, lag, status --------------------------------------------------------------
    async def poll_once(self, now: float) -> None:
        assert self._offsets is not None and self._admin is not None
        for topic, state in self.topics.items():
            partitions = await topic_partitions(self._offsets, topic_name(self.settings, topic))
            if not partitions:
                continue
            ends = await self._offsets.end_offsets(partitions)
            begins = await self._offsets.beginning_offsets(partitions)
            for tp in partitions:
                part = state.partitions.setdefault(tp.partition, PartitionState())
                part.end, part.begin = ends[tp], begins[tp]
                part.history.add(ends[tp], now)
            total = sum(ends.values())
            if state.last_total is not None and now > state.last_at:
                state.rates.add(now, max(0, total - state.last_total) / (now - state.last_at))
            state.last_total, state.last_at = total, now
        self.groups = [await self._group(stage, shard, now) for stage in consuming_stages()
                       for shard in range(len(stage.consumer_groups(self.settings)))]
        unknown = any(state.oldest_at is None and any(p.end > p.begin for p in state.partitions.values())
                      for state in self.topics.values())
        since = now - self.oldest_checked
        if since >= OLDEST_EVERY_SECONDS or (unknown and since >= 10):
            await self._oldest()
            self.oldest_checked = now
        if self.es is not None:
            await self._indexed(now)
        self._forget(now)
        self._export(now)
        self.polls += 1

    def _export(self, now: float) -> None:
        """The same figures for Prometheus."""
        for topic, state in self.topics.items():
            TOPIC_END_OFFSET.labels(topic.value).set(sum(p.end for p in state.partitions.values()))
        for group in self.groups:
            CONSUMER_LAG.labels(group.name).set(group.lag)
            CONSUMER_LAG_SECONDS.labels(group.name).set(group.lag_seconds)
            GROUP_STATUS.labels(group.name).set(STATUS_VALUE[Status(group.status)])
            LIVE_WORKERS.labels(group.name).set(len(group.workers))
        for name, summary in self.latency_view(now).items():
            for quantile in ("p50", "p95", "p99"):
                STAGE_LATENCY.labels(name, f"0.{quantile[1:]}").set(getattr(summary, quantile))

    async def _oldest(self) -> None:
        """The oldest retained message of every topic: one fetch from each partition's start,
        once a minute (it changes only as retention deletes segments)."""
        assert self._offsets is not None
        starts = {TopicPartition(topic_name(self.settings, topic), number): part.begin
                  for topic, state in self.topics.items() for number, part in state.partitions.items()
                  if part.end > part.begin}
        if not starts:
            return
        self._offsets.assign(list(starts))
        for tp, begin in starts.items():
            self._offsets.seek(tp, begin)
        found: dict[TopicPartition, float] = {}
        deadline = time.monotonic() + 3
        while len(found) < len(starts) and time.monotonic() < deadline:
            batches = await self._offsets.getmany(timeout_ms=500, max_records=len(starts))
            for tp, records in batches.items():
                if records and tp not in found:
                    found[tp] = records[0].timestamp / 1000
                    self._offsets.pause(tp)
        self._offsets.assign([])
        by_name = {topic_name(self.settings, t): t for t in self.topics}
        oldest: dict[Topic, float] = {}
        for tp, at in found.items():
            topic = by_name[tp.topic]
            oldest[topic] = min(oldest.get(topic, at), at)
        for topic, at in oldest.items():
            self.topics[topic].oldest_at = at

    def live_workers(self, stage: str, now: float) -> list[WorkerHeartbeat]:
        limit = 3 * self.settings.heartbeat_seconds
        return [b for b in self.heartbeats.values()
                if b.stage == stage and not b.stopping and now - b.updated_at.timestamp() <= limit]

    async def _group(self, stage: Any, shard: int, now: float) -> GroupView:
        """One consumer group: a stage's, or one shard's of a sharded stage (named
        `<stage>.shard-<n>` in notices, metrics and the CLI)."""
        assert self._admin is not None and stage.reads is not None
        group = stage.consumer_group(self.settings, shard)
        sharded = len(stage.consumer_groups(self.settings)) > 1
        committed = await self._admin.list_consumer_group_offsets(group)
        name = topic_name(self.settings, stage.reads)
        topic = self.topics[stage.reads]
        workers = [w for w in self.live_workers(stage.stage.value, now) if w.group in (None, group)]
        partitions: list[PartitionView] = []
        for number, part in sorted(topic.partitions.items()):
            meta = committed.get(TopicPartition(name, number))
            offset = meta.offset if meta is not None and meta.offset >= 0 else part.begin
            lag = max(0, part.end - offset)
            window = self.windows.setdefault((group, number), PartitionWindow())
            window.add(offset, lag)
            partitions.append(PartitionView(
                partition=number, committed=offset, end=part.end, lag=lag,
                lag_seconds=round(part.history.lag_seconds(offset, part.end, now), 3),
                status=cast(PartitionStatus, window.status(has_members=bool(workers)).value),
                owner=next((w.instance for w in workers if number in w.partitions), None)))
        status = group_status([Status(p.status) for p in partitions])
        if status is Status.OK and any(w.tasks_down for w in workers):
            status = Status.WARN  # consuming, but a background task of a worker is down
        return GroupView(
            stage=stage.stage.value, group=group, topic=stage.reads.value,
            name=f"{stage.stage.value}.shard-{shard}" if sharded else stage.stage.value,
            writes=stage.writes.value, status=cast(GroupStatus, status.value),
            lag=sum(p.lag for p in partitions),
            lag_seconds=max((p.lag_seconds for p in partitions), default=0.0),
            workers=[WorkerView(instance=w.instance, partitions=w.partitions, processed=w.processed,
                                dead_lettered=w.dead_lettered, metrics_port=w.metrics_port,
                                tasks_down=w.tasks_down) for w in workers],
            partitions=partitions)

    # -- latency -----------------------------------------------------------------------------
    async def _tailing(self) -> None:
        assert self._tail is not None
        logical = {topic_name(self.settings, t): t for t in TAILED}
        while True:
            try:
                batches = await self._tail.getmany(timeout_ms=500, max_records=2000)
            except KafkaError as exc:
                log.warning("monitor: tail failed (%s); retrying", exc)
                await asyncio.sleep(1)
                continue
            now = time.time()
            for records in batches.values():
                for record in records:
                    try:
                        self.observe(logical[record.topic], record, now)
                    except Exception:  # one bad header must not end latency tracking
                        log.exception("monitor: skipped %s@%s", record.topic, record.offset)

    def observe(self, topic: Topic, record: Any, now: float) -> None:
        at = record.timestamp / 1000
        state = self.topics[topic]
        state.newest_at = max(state.newest_at or 0.0, at)
        article_id = record.key.decode(errors="replace") if record.key and topic is not Topic.ALERTS \
            else header_value(record.headers, Header.ARTICLE_ID)
        if article_id is None or topic is Topic.DEAD_LETTER:
            return
        times = self.seen.setdefault(article_id, {})
        if topic in times:
            return  # a replay or a second alert of the article: the first passage counts
        times[topic] = at
        self.seen_at[article_id] = now
        for stage in TOPOLOGY:
            if stage.writes is topic and stage.reads in times:
                self.window(stage.stage.value).add(now, at - times[stage.reads])
        submitted = header_value(record.headers, Header.SUBMITTED_AT)
        if submitted and topic in (Topic.ENRICHED, Topic.ALERTS):
            self.window(f"ingest_to_{'enriched' if topic is Topic.ENRICHED else 'alerted'}").add(
                now, at - parse_iso(submitted).timestamp())

    def window(self, name: str) -> TimeWindow:
        return self.latency.setdefault(name, TimeWindow())

    async def _indexed(self, now: float) -> None:
        """Documents indexed since the last look: ingest → indexed, and time in indexing."""
        assert self.es is not None
        since = self.indexed_since or datetime.fromtimestamp(now - 5, UTC).isoformat()
        try:
            response = await self.es.search(
                index=self.settings.index_alias, size=1000, sort=[{DocField.INDEXED_AT: "asc"}],
                query={"range": {DocField.INDEXED_AT: {"gt": since}}},
                source=[DocField.ARTICLE_ID, DocField.SUBMITTED_AT, DocField.INDEXED_AT])
        except Exception as exc:  # an index that is down is the indexer's lag, not ours
            log.info("monitor: no index latency this poll (%s)", exc)
            return
        indexing = INDEXER
        for hit in response["hits"]["hits"]:
            source = hit["_source"]
            indexed = parse_iso(source[DocField.INDEXED_AT]).timestamp()
            submitted = parse_iso(source[DocField.SUBMITTED_AT]).timestamp()
            self.window("ingest_to_indexed").add(now, indexed - submitted)
            if indexing.reads is not None:
                before = self.seen.get(source[DocField.ARTICLE_ID], {}).get(indexing.reads)
                if before is not None:
                    self.window(indexing.stage.value).add(now, indexed - before)
            self.indexed_since = source[DocField.INDEXED_AT]

    def _forget(self, now: float) -> None:
        old = [a for a, at in self.seen_at.items() if now - at > JOIN_SECONDS]
        for article_id in old:
            self.seen.pop(article_id, None)
            self.seen_at.pop(article_id, None)

    # -- views ------------------------------------------------------------------------------
    def topics_view(self, now: float) -> list[TopicView]:
        views = []
        for topic, state in self.topics.items():
            rates = state.rates.values(now)
            views.append(TopicView(
                topic=topic.value, name=topic_name(self.settings, topic),
                partitions=len(state.partitions),
                end_offset=sum(p.end for p in state.partitions.values()),
                retained=sum(p.end - p.begin for p in state.partitions.values()),
                rate=round(rates[-1], 3) if rates else 0.0,
                rates=[round(r, 3) for r in rates[-60:]],
                newest_at=state.newest_at, oldest_at=state.oldest_at))
        return views

    def latency_view(self, now: float) -> dict[str, LatencySummary]:
        return {name: LatencySummary.model_validate(window.summary(now))
                for name, window in sorted(self.latency.items())}
