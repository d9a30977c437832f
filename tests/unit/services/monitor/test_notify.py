"""Ops notices: status changes and dead-letter growth, sent to active ops subscriptions only."""

from __future__ import annotations

import json
from typing import Literal

from services.monitor.notify import OpsNotifier
from shared.contracts.alerts import Subscription
from shared.contracts.monitor import GroupView, PartitionView
from shared.contracts.topology import Topic
from shared.runtime.tables import Table
from shared.settings import Settings
from tests.fakes import FakeProducer


def group(stage: str, status: Literal["OK", "WARN", "ERR"], lag: int = 0) -> GroupView:
    partition = PartitionView(partition=0, committed=0, end=lag, lag=lag, lag_seconds=3.0 * lag,
                              status="STOP" if status == "ERR" else "OK", owner=None)
    return GroupView(stage=stage, name=stage, group=f"newsflow-{stage}", topic="news.extracted",
                     writes="news.analysed", status=status, lag=lag, lag_seconds=3.0 * lag,
                     workers=[], partitions=[partition])


async def test_changes_and_growth_go_to_active_ops_subscriptions() -> None:
    settings = Settings()
    table = Table(settings, Topic.SUBSCRIPTIONS, Subscription)
    for sid, kind, active in (("ops1", "ops", True), ("ops2", "ops", False), ("news", "news", True)):
        table.apply(sid, Subscription(subscription_id=sid, owner="k1", name=sid, kind=kind,
                                      active=active, query="q", feed_token=sid))
    producer = FakeProducer()
    notifier = OpsNotifier(settings, producer, table)
    assert await notifier.observe([group("enrichment", "OK")], {"enrichment": 2}) == 0  # first look
    assert await notifier.observe([group("enrichment", "OK")], {"enrichment": 2}) == 0  # nothing new
    assert await notifier.observe([group("enrichment", "ERR", lag=4)], {"enrichment": 5}) == 2
    events = [json.loads(s.value) for s in producer.to(settings.topic(Topic.ALERTS.value))]
    assert [e["title"] for e in events] == ["enrichment: OK → ERR", "enrichment: 3 new dead letters"]
    assert {e["subscription_id"] for e in events} == {"ops1"}
    assert "STOP" in events[0]["summary"] and "lag 4 messages" in events[0]["summary"]
    assert await notifier.observe([group("enrichment", "OK")], {"enrichment": 5}) == 1
