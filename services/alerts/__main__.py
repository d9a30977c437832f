"""python -m services.alerts: news.enriched → news.alerts, every subscription matched in process.

The API-keys and subscriptions tables are read whole before the first article (a revoked
key's subscriptions match nothing from the moment its row arrives), so a restarted matcher
never misses a subscription; alert ids are deterministic, so a replayed batch repeats ids and
the deliverer drops the repeats.
"""

from __future__ import annotations

from typing import Any

from services.alerts.live import LiveSubscriptions
from shared.contracts.alerts import AlertEvent, ApiKey, Subscription
from shared.contracts.topology import Stage, Topic, spec
from shared.runtime.kafka import ensure_topics
from shared.runtime.stage import BatchBounds, TopicSink, run_stage
from shared.runtime.tables import Table
from shared.settings import get_settings

settings = get_settings()
stage = spec(Stage.ALERTING)


class AlertSink(TopicSink):
    def __init__(self, tables: list[Table[Any]], live: LiveSubscriptions, producer: Any) -> None:
        super().__init__(stage, settings, live.alerts_for, producer, key_of=_owner_key)
        self.tables = tables

    async def close(self) -> None:
        for table in self.tables:
            await table.stop()


def _owner_key(alert: AlertEvent) -> bytes:
    return alert.owner.encode()


async def make_sink(producer: Any, _consumer: Any) -> AlertSink:
    await ensure_topics(settings)
    live = LiveSubscriptions()
    keys = Table(settings, Topic.API_KEYS, ApiKey)
    keys.listeners.append(live.on_key)
    subscriptions = Table(settings, Topic.SUBSCRIPTIONS, Subscription)
    subscriptions.listeners.append(live.on_change)
    for table in (keys, subscriptions):
        await table.start()
        await table.wait_caught_up()
    return AlertSink([keys, subscriptions], live, producer)


# Alerts are latency-bound: take what is there, do not linger for a fuller batch.
run_stage(stage, make_sink, BatchBounds(settings.stage_batch_size, 0.5, 0.0))
