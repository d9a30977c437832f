"""The alert matcher's sink: alerts for each enriched article, and the spike and breaking
counts recorded before the batch is committed (see `__main__` for how the stage runs)."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel

from services.alerts.live import LiveSubscriptions
from shared.contracts.alerts import AlertEvent, ApiKey, SignalState, Subscription
from shared.contracts.topology import Stage, Topic, spec, topic_name
from shared.runtime.kafka import ensure_topics
from shared.runtime.retry import until_acknowledged
from shared.runtime.stage import Decoded, Outcome, TopicSink
from shared.runtime.tables import Table
from shared.settings import Settings, get_settings


class AlertSink(TopicSink):
    def __init__(self, settings: Settings, tables: list[Table[Any]], signals: Table[SignalState],
                 live: LiveSubscriptions, producer: Any, consumer: Any) -> None:
        super().__init__(spec(Stage.ALERTING), settings, None, producer, key_of=_owner_key)
        self.signals_topic = topic_name(settings, Topic.SIGNALS)
        self.tables = [*tables, signals]
        self.signals_table = signals
        self.live = live
        self.consumer = consumer

    async def outputs(self, item: Decoded) -> list[BaseModel]:
        return list(await asyncio.to_thread(self.live.alerts_for, item.message, item.record.partition,
                                            item.record.offset))

    async def write(self, batch: list[Decoded], stop: asyncio.Event) -> list[Outcome]:
        assigned = {tp.partition for tp in self.consumer.assignment()}
        if assigned - self.live.signals.owned:
            # A partition new to this matcher: what its last owner counted is read first.
            await self.signals_table.follower.catch_up()
        self.live.signals.owned = assigned
        outcomes = await super().write(batch, stop)
        # After the alerts, before the commit: a crash in between tells the same alerts again.
        changed = self.live.signals.take_changed()
        async for attempt in until_acknowledged("alerting: recording signals", stop):
            with attempt:
                sent = [await self.producer.send(self.signals_topic, row.to_bytes() if row else None,
                                                 key=key.encode()) for key, row in changed.items()]
                for delivery in sent:
                    await delivery
        return outcomes

    async def close(self) -> None:
        for table in self.tables:
            await table.stop()


def _owner_key(alert: AlertEvent) -> bytes:
    return alert.owner.encode()


async def make_sink(producer: Any, consumer: Any) -> AlertSink:
    settings = get_settings()
    await ensure_topics(settings)
    live = LiveSubscriptions(settings)
    keys = Table(settings, Topic.API_KEYS, ApiKey)
    keys.listeners.append(live.on_key)
    subscriptions = Table(settings, Topic.SUBSCRIPTIONS, Subscription)
    subscriptions.keep = lambda _row: False  # its shard's rows live in `live`, not twice
    subscriptions.listeners.append(live.on_change)
    signals = Table(settings, Topic.SIGNALS, SignalState)
    signals.keep = lambda _row: False  # the rows live in `live.signals`, not twice
    signals.listeners.append(live.signals.on_row)
    for table in (keys, subscriptions, signals):
        await table.start()
        await table.wait_caught_up()
    return AlertSink(settings, [keys, subscriptions], signals, live, producer, consumer)
