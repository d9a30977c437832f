"""What the subscriptions API reads and writes, all on Kafka (so it keeps working while
Elasticsearch is down, and every API instance sees the same):

- the API keys, subscriptions and delivery states, as tables (compacted topics);
- the alert events, followed from the start of `news.alerts`: each owner's timeline, in the
  order of its partition (an owner's alerts share one), with one entry per alert id and the
  later articles of a story as updates; live streams listen to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.contracts.alerts import AlertEvent, ApiKey, Delivery, EndpointHealth, Subscription
from shared.contracts.topology import Topic
from shared.runtime.kafka import ensure_topics, make_producer
from shared.runtime.tables import Table, TopicFollower, write_row
from shared.settings import Settings

log = logging.getLogger(__name__)

LISTENER_QUEUE = 1000  # a stream further behind than this is dropped, not buffered forever


@dataclass
class Entry:
    """One line of an owner's timeline: a new alert, or a later article of its story."""

    kind: Literal["alert", "update"]
    offset: int  # in the owner's partition: the live stream's event id
    event: AlertEvent


@dataclass
class LoggedAlert:
    first: Entry
    updates: list[Entry] = field(default_factory=list)

    def article_ids(self) -> set[str]:
        return {self.first.event.article_id, *(u.event.article_id for u in self.updates)}


class Listener:
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.queue: asyncio.Queue[Entry] = asyncio.Queue(LISTENER_QUEUE)
        self.overflowed = False

    def offer(self, entry: Entry) -> None:
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.overflowed = True


class AlertLog:
    def __init__(self) -> None:
        self.alerts: dict[str, LoggedAlert] = {}
        self.timelines: dict[str, list[Entry]] = {}
        self.listeners: set[Listener] = set()

    def apply_record(self, record: Any) -> None:
        if record.value is None:
            return
        self.add(AlertEvent.model_validate_json(record.value), record.offset)

    def add(self, event: AlertEvent, offset: int) -> None:
        known = self.alerts.get(event.alert_id)
        if known is None:
            entry = Entry("alert", offset, event)
            self.alerts[event.alert_id] = LoggedAlert(entry)
        elif event.article_id in known.article_ids():
            return  # a replay of what we have
        else:
            entry = Entry("update", offset, event)
            known.updates.append(entry)
        self.timelines.setdefault(event.owner, []).append(entry)
        for listener in list(self.listeners):
            if listener.owner == event.owner:
                listener.offer(entry)

    def since(self, owner: str, offset: int) -> list[Entry]:
        return [e for e in self.timelines.get(owner, []) if e.offset > offset]

    def of_subscription(self, owner: str, subscription_id: str) -> list[LoggedAlert]:
        """Newest first."""
        return [self.alerts[e.event.alert_id] for e in reversed(self.timelines.get(owner, []))
                if e.kind == "alert" and e.event.subscription_id == subscription_id]


class AlertStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = Table(settings, Topic.API_KEYS, ApiKey)
        self.subscriptions = Table(settings, Topic.SUBSCRIPTIONS, Subscription)
        self.deliveries = Table(settings, Topic.DELIVERIES, Delivery,
                                {EndpointHealth.key(""): EndpointHealth})
        self.log = AlertLog()
        self.follower = TopicFollower(settings, Topic.ALERTS, self.log.apply_record)
        self.producer = make_producer(settings)
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """In the background: the search API serves while Kafka is away; these routes answer
        503 until every view has caught up."""
        self._task = asyncio.create_task(self._start(), name="alert store")

    async def _start(self) -> None:
        while True:
            try:
                await ensure_topics(self.settings)
                await self.producer.start()
                break
            except Exception as exc:
                log.warning("alert store: Kafka not reachable yet (%s); retrying", exc)
                await asyncio.sleep(2)
        for table in (self.keys, self.subscriptions, self.deliveries):
            await table.start()
        await self.follower.start()
        for table in (self.keys, self.subscriptions, self.deliveries):
            await table.follower.caught_up.wait()
        await self.follower.caught_up.wait()
        self.ready.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for table in (self.keys, self.subscriptions, self.deliveries):
            await table.stop()
        await self.follower.stop()
        await self.producer.stop()

    async def save(self, subscription: Subscription) -> None:
        await write_row(self.producer, self.settings, Topic.SUBSCRIPTIONS,
                        subscription.subscription_id, subscription)
        self.subscriptions.apply(subscription.subscription_id, subscription)

    async def delete(self, subscription_id: str) -> None:
        await write_row(self.producer, self.settings, Topic.SUBSCRIPTIONS, subscription_id, None)
        self.subscriptions.apply(subscription_id, None)

    def endpoint(self, subscription_id: str) -> EndpointHealth | None:
        value = self.deliveries.rows.get(EndpointHealth.key(subscription_id))
        return value if isinstance(value, EndpointHealth) else None
