"""python -m services.alerts: news.enriched → news.alerts, every subscription matched in process.

The subscriptions table is read whole before the first article, so a restarted matcher
never misses a subscription; alert ids are deterministic, so a replayed batch repeats ids and
the deliverer drops the repeats.
"""

from __future__ import annotations

from typing import Any

from services.alerts.live import LiveSubscriptions
from shared.contracts.alerts import AlertEvent, Subscription
from shared.contracts.topology import Stage, Topic, spec
from shared.runtime.kafka import ensure_topics
from shared.runtime.stage import BatchBounds, TopicSink, run_stage
from shared.runtime.tables import Table
from shared.settings import get_settings

settings = get_settings()
stage = spec(Stage.ALERTING)


class AlertSink(TopicSink):
    def __init__(self, table: Table[Subscription], live: LiveSubscriptions, producer: Any) -> None:
        super().__init__(stage, settings, live.alerts_for, producer, key_of=_owner_key)
        self.table = table

    async def close(self) -> None:
        await self.table.stop()


def _owner_key(alert: AlertEvent) -> bytes:
    return alert.owner.encode()


async def make_sink(producer: Any, _consumer: Any) -> AlertSink:
    await ensure_topics(settings)
    live = LiveSubscriptions()
    table = Table(settings, Topic.SUBSCRIPTIONS, Subscription)
    table.listeners.append(live.on_change)
    await table.start()
    await table.wait_caught_up()
    return AlertSink(table, live, producer)


# Alerts are latency-bound: take what is there, do not linger for a fuller batch.
run_stage(stage, make_sink, BatchBounds(settings.stage_batch_size, 0.5, 0.0))
