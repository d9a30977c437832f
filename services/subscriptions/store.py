"""What the subscriptions API reads and writes on Kafka (so it keeps working while
Elasticsearch is down, and every API instance sees the same):

- the API keys, subscriptions and webhook endpoints' health, as tables (compacted topics, as
  large as the number of keys and subscriptions, not the history);
- the alert events, followed from a little before the end of `news.alerts` (what warms the
  alert-or-update memory; start time does not grow with history): live streams listen to it,
  and a stream that resumes (`Last-Event-ID`) reads its owner's partition from there.

The history of alerts, with each one's delivery state, is in Elasticsearch
(services/subscriptions/history.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError

from shared.contracts.alerts import AlertEvent, ApiKey, EndpointHealth, Subscription, token_sha256
from shared.contracts.history import EntryKind, Timeline
from shared.contracts.topology import Topic, topic_name
from shared.http.errors import ApiError
from shared.runtime.kafka import (
    ensure_topics,
    make_producer,
    make_reader,
    partition_of,
    topic_partitions,
)
from shared.runtime.sealing import Sealer
from shared.runtime.tables import Table, TopicFollower, write_row
from shared.runtime.tasks import supervised
from shared.settings import Settings

log = logging.getLogger(__name__)

LISTENER_QUEUE = 1000  # a stream further behind than this is dropped, not buffered forever
WARM_UP_RECORDS = 10_000  # per partition of news.alerts, read at start
RESUME_MAX_RECORDS = 100_000  # a stream resuming from further back starts there


@dataclass
class Entry:
    """One line of an owner's timeline: a new alert, or a later article of its story."""

    kind: EntryKind
    offset: int  # in the owner's partition: the live stream's event id
    event: AlertEvent


class Listener:
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.queue: asyncio.Queue[Entry] = asyncio.Queue(LISTENER_QUEUE)
        self.overflowed = False
        self.closed = False  # its key was revoked: the stream ends

    def offer(self, entry: Entry) -> None:
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.overflowed = True


class LiveAlerts:
    """The tail of news.alerts: each entry to the streams of its owner."""

    def __init__(self) -> None:
        self.timeline = Timeline()
        self.listeners: set[Listener] = set()

    def entry(self, record: Any) -> Entry | None:
        if record.value is None:
            return None
        event = AlertEvent.model_validate_json(record.value)
        kind = self.timeline.kind(event, record.offset)
        return Entry(kind, record.offset, event) if kind is not None else None

    def apply_record(self, record: Any) -> None:
        entry = self.entry(record)
        if entry is None:
            return
        for listener in list(self.listeners):
            if listener.owner == entry.event.owner:
                listener.offer(entry)

    def close_streams(self, owner: str) -> None:
        for listener in list(self.listeners):
            if listener.owner == owner:
                listener.closed = True


class AlertStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = Table(settings, Topic.API_KEYS, ApiKey)
        self.subscriptions = Table(settings, Topic.SUBSCRIPTIONS, Subscription)
        self.endpoints = Table(settings, Topic.ENDPOINTS, EndpointHealth)
        self.live = LiveAlerts()
        self.follower = TopicFollower(settings, Topic.ALERTS, self.live.apply_record, last=WARM_UP_RECORDS)
        self.sealer = Sealer(settings)
        self.feeds: dict[str, str] = {}  # feed token's SHA-256 → subscription id
        self._feed_of: dict[str, str] = {}  # and back
        # An email destination's unsubscribe token's SHA-256 → (subscription, destination).
        self.unsubscribes: dict[str, tuple[str, str]] = {}
        self._unsubscribes_of: dict[str, list[str]] = {}  # and back, per subscription
        self.subscriptions.listeners.append(self._index_feed)
        self.subscriptions.listeners.append(self._index_unsubscribes)
        self.keys.listeners.append(self._on_key)
        self.open_streams: dict[str, int] = {}  # per owner
        self.producer = make_producer(settings)
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """In the background: the search API serves while Kafka is away; these routes answer
        503 until every view has caught up. A start that fails half-way (Kafka dropping while
        the views load) is undone and tried again, never left dead."""
        self._task = supervised("alert store start", self._start)

    async def _start(self) -> None:
        try:
            await ensure_topics(self.settings)
            await self.producer.start()
            for table in (self.keys, self.subscriptions, self.endpoints):
                await table.start()
            await self.follower.start()
            for table in (self.keys, self.subscriptions, self.endpoints):
                await table.follower.caught_up.wait()
            await self.follower.caught_up.wait()
        except Exception as exc:
            log.warning("alert store: Kafka not reachable while starting (%s); trying again", exc)
            await self._close_clients()
            self.producer = make_producer(self.settings)  # a stopped producer cannot start again
            raise
        self.ready.set()

    async def _close_clients(self) -> None:
        for closing in (*(t.stop() for t in (self.keys, self.subscriptions, self.endpoints)),
                        self.follower.stop(), self.producer.stop()):
            with contextlib.suppress(Exception):
                await closing

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_clients()

    # -- keys, feeds --------------------------------------------------------------------
    def key_live(self, key_id: str) -> bool:
        record = self.keys.get(key_id)
        return record is not None and record.revoked_at is None

    def _on_key(self, key_id: str, record: ApiKey | None) -> None:
        if record is None or record.revoked_at is not None:
            self.live.close_streams(key_id)  # at once, wherever the stream is open

    def feed_hash(self, subscription: Subscription) -> str:
        return subscription.feed_token_sha256 or token_sha256(self.sealer.open(subscription.feed_token))

    def _index_feed(self, subscription_id: str, subscription: Subscription | None) -> None:
        old = self._feed_of.pop(subscription_id, None)
        if old is not None:
            self.feeds.pop(old, None)
        if subscription is not None:
            digest = self.feed_hash(subscription)
            self.feeds[digest] = subscription_id
            self._feed_of[subscription_id] = digest

    def _index_unsubscribes(self, subscription_id: str, subscription: Subscription | None) -> None:
        for digest in self._unsubscribes_of.pop(subscription_id, []):
            self.unsubscribes.pop(digest, None)
        if subscription is None:
            return
        mine = [(d.unsubscribe_token_sha256, d.destination_id) for d in subscription.destinations
                if d.unsubscribe_token_sha256]
        for digest, destination_id in mine:
            self.unsubscribes[digest] = (subscription_id, destination_id)
        if mine:
            self._unsubscribes_of[subscription_id] = [digest for digest, _ in mine]

    def by_unsubscribe_token(self, token: str) -> tuple[Subscription, str] | None:
        """The subscription and destination an unsubscribe link is for (by the token's hash)."""
        found = self.unsubscribes.get(token_sha256(token))
        subscription = self.subscriptions.get(found[0]) if found else None
        if found is None or subscription is None or subscription.destination(found[1]) is None:
            return None
        return subscription, found[1]

    def by_feed_token(self, token: str) -> Subscription | None:
        """By the token's hash (no comparison with every token); the hash is compared in
        constant time; a revoked owner's feed is gone."""
        digest = token_sha256(token)
        subscription = self.subscriptions.get(self.feeds.get(digest, ""))
        if subscription is None or not hmac.compare_digest(self.feed_hash(subscription), digest):
            return None
        return subscription if self.key_live(subscription.owner) else None

    # -- writes ---------------------------------------------------------------------------
    async def _write(self, key: str, value: Subscription | None) -> None:
        """Acknowledged within the publish timeout, else a 503 (Kafka away) without waiting
        for the client library's own, much longer, timeout."""
        try:
            await asyncio.wait_for(write_row(self.producer, self.settings, Topic.SUBSCRIPTIONS, key, value),
                                   self.settings.publish_timeout_seconds)
        except (TimeoutError, KafkaError) as exc:
            raise ApiError(503, "unavailable", "the subscription could not be saved: Kafka did not "
                           "acknowledge it in time; try again", headers={"Retry-After": "5"}) from exc
        self.subscriptions.apply(key, value)

    async def save(self, subscription: Subscription) -> None:
        await self._write(subscription.subscription_id, subscription)

    async def delete(self, subscription_id: str) -> None:
        await self._write(subscription_id, None)

    def endpoint(self, subscription_id: str) -> EndpointHealth | None:
        return self.endpoints.get(subscription_id)

    # -- resuming a stream ----------------------------------------------------------------
    async def since(self, owner: str, offset: int) -> list[Entry]:
        """The owner's entries after `offset` in its partition, up to the end as it is now
        (seeked to, not replayed from the start; at most RESUME_MAX_RECORDS back)."""
        topic = topic_name(self.settings, Topic.ALERTS)
        reader = make_reader(self.settings)
        await reader.start()
        try:
            partitions = await topic_partitions(reader, topic)
            tp = partitions[partition_of(owner, len(partitions))]  # the alerts are keyed by owner
            reader.assign([tp])
            end = (await reader.end_offsets([tp]))[tp]
            begin = (await reader.beginning_offsets([tp]))[tp]
            reader.seek(tp, max(offset + 1, begin, end - RESUME_MAX_RECORDS))
            entries: list[Entry] = []
            deadline = asyncio.get_running_loop().time() + 30
            while await reader.position(tp) < end and asyncio.get_running_loop().time() < deadline:
                for record in (await reader.getmany(tp, timeout_ms=1000, max_records=1000)).get(tp, []):
                    if record.offset >= end:
                        break
                    found = self.live.entry(record)
                    if found is not None and found.event.owner == owner:
                        entries.append(found)
            return entries
        finally:
            await reader.stop()
