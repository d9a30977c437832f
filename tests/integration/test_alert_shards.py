"""Sharded alert matchers on the real broker: subscriptions split over two shards, each shard's
matchers in a consumer group of their own reading every enriched article. A second matcher
joins shard 0 while articles flow and the first then leaves; every (subscription, article)
pair is told exactly once by alert id, none is missing, and each matcher holds only its
shard's subscriptions.

Only the matchers run here, in a namespace of their own: subscriptions are written onto
news.subscriptions and articles onto news.enriched directly, and the alerts are read off
news.alerts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from deploy.local.services import Services, drop_namespace
from deploy.local.stack import Stack
from shared.contracts.alerts import Subscription, shard_of
from shared.contracts.messages import EnrichedArticle, SourceInfo
from shared.contracts.topology import Stage, Topic, spec, topic_name
from shared.runtime.kafka import consumer_lag, ensure_topics, make_producer
from shared.runtime.tables import TopicFollower, write_row
from shared.settings import Settings
from tests.conftest import REPO_ROOT
from tests.stack import eventually, free_port

pytestmark = pytest.mark.integration

SHARDS = 2
PER_SHARD = 4
BATCH = 15


@pytest.fixture(scope="module")
async def sharded(stack: Stack) -> AsyncIterator[tuple[Settings, Services]]:
    namespace = f"shards-{uuid.uuid4().hex[:8]}"
    monitor_port = free_port()
    env = {**stack.client_env(), "NEWSFLOW_NAMESPACE": namespace, "NEWSFLOW_HEARTBEAT_SECONDS": "1",
           "NEWSFLOW_SHARDS": str(SHARDS), "NEWSFLOW_MONITOR_PORT": str(monitor_port),
           "NEWSFLOW_MONITOR_POLL_SECONDS": "1", "NEWSFLOW_REQUIRE_OPS_KEY": "0"}
    settings = Settings(namespace=namespace, shards=SHARDS, monitor_port=monitor_port)
    await ensure_topics(settings)
    services = Services(settings, REPO_ROOT / "test-output" / namespace, env)
    yield settings, services
    services.down()
    await drop_namespace(settings)


def _subscription_ids() -> dict[int, list[str]]:
    """PER_SHARD ids of each shard, as the matcher splits them."""
    ids: dict[int, list[str]] = {shard: [] for shard in range(SHARDS)}
    n = 0
    while any(len(found) < PER_SHARD for found in ids.values()):
        sid = f"sub_shard{n:04d}"
        if len(ids[shard_of(sid, SHARDS)]) < PER_SHARD:
            ids[shard_of(sid, SHARDS)].append(sid)
        n += 1
    return ids


def _article(article_id: str, marker: str) -> EnrichedArticle:
    return EnrichedArticle(
        article_id=article_id, title=f"Harbour {marker} report", body=f"The {marker} came ashore.",
        language="en", source=SourceInfo(name="Wire"), submitted_at=datetime.now(UTC),
        story_id=f"story-{article_id}", stems=f"the {marker} came ashor",
        title_stems=f"harbour {marker} report")


async def _send(settings: Settings, articles: list[EnrichedArticle]) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        for article in articles:
            await producer.send(topic_name(settings, Topic.ENRICHED), article.to_bytes(),
                                key=article.article_id.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def test_two_shards_tell_every_alert_once_through_a_join_and_a_leave(
        sharded: tuple[Settings, Services]) -> None:
    settings, services = sharded
    marker = "zq" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:10])
    ids = _subscription_ids()
    producer = make_producer(settings)
    await producer.start()
    try:
        for sid in [s for shard in ids.values() for s in shard]:
            row = Subscription(subscription_id=sid, owner="k_shards", name=sid, query=marker,
                               notify_on="article", feed_token="t")
            await write_row(producer, settings, Topic.SUBSCRIPTIONS, sid, row)
    finally:
        await producer.stop()

    told: dict[str, list[tuple[str, str]]] = {}  # alert id → each (subscription, article) telling it

    def heard(record: Any) -> None:
        alert = json.loads(record.value)
        told.setdefault(alert["alert_id"], []).append((alert["subscription_id"], alert["article_id"]))

    alerts = TopicFollower(settings, Topic.ALERTS, heard)
    await alerts.start()
    services.start("monitor")
    services.start("alerts", {"NEWSFLOW_SHARD": "0"})
    services.add("alerts", {"NEWSFLOW_SHARD": "1"})
    articles = [_article(f"shard-a{n:03d}", marker) for n in range(3 * BATCH)]
    expected = {(sid, a.article_id) for a in articles for shard in ids.values() for sid in shard}

    def pairs() -> set[tuple[str, str]]:
        return {pair for tellings in told.values() for pair in tellings}

    async def told_for(batch: list[EnrichedArticle]) -> bool:
        wanted = {a.article_id for a in batch}
        return len({p for p in pairs() if p[1] in wanted}) == len(batch) * SHARDS * PER_SHARD

    try:
        await _send(settings, articles[:BATCH])
        await eventually(lambda: told_for(articles[:BATCH]), "both shards' alerts for the first batch",
                         timeout=180)
        # A second matcher joins shard 0 while the next batch flows: shard 0's group rebalances.
        services.add("alerts", {"NEWSFLOW_SHARD": "0"})
        await _send(settings, articles[BATCH:2 * BATCH])
        await eventually(lambda: told_for(articles[BATCH:2 * BATCH]), "the second batch", timeout=180)
        # The first shard-0 matcher leaves; the one that joined takes every partition.
        services.processes["alerts"].stop(timeout=30)
        await _send(settings, articles[2 * BATCH:])
        await eventually(lambda: told_for(articles[2 * BATCH:]), "the third batch", timeout=180)
        for shard in range(SHARDS):
            await eventually(lambda shard=shard: _committed(settings, shard),
                             f"shard {shard}'s group to commit")
        # The monitor watches each shard's group, with its own live matcher.
        groups = await eventually(lambda: _shard_groups(settings), "the monitor to show both shards")
        assert sorted(groups) == ["alerting.shard-0", "alerting.shard-1"]
        assert all(g["group"].endswith(name.removeprefix("alerting")) for name, g in groups.items())
    finally:
        await alerts.stop()

    assert pairs() == expected  # none missing, none for a subscription of the other shard's
    # Each alert id tells one pair (a replayed batch may repeat an id, never change it) ...
    assert all(len(set(tellings)) == 1 for tellings in told.values())
    # ... and before any matcher joined or left, nothing was replayed: each was told once,
    # by the one shard holding its subscription.
    first = {a.article_id for a in articles[:BATCH]}
    assert all(len(tellings) == 1 for tellings in told.values() if tellings[0][1] in first)
    assert len(told) == len(expected) == 3 * BATCH * SHARDS * PER_SHARD


async def _shard_groups(settings: Settings) -> dict[str, dict[str, Any]] | None:
    """The monitor's alerting rows, once each has one live matcher and no lag."""
    async with httpx.AsyncClient(base_url=settings.client_url("monitor"), timeout=10) as client:
        groups = (await client.get("/ops/groups")).json()["groups"]
    rows = {g["name"]: g for g in groups if g["stage"] == "alerting"}
    ready = len(rows) == SHARDS and all(len(g["workers"]) == 1 and g["lag"] == 0 for g in rows.values())
    return rows if ready else None


async def _committed(settings: Settings, shard: int) -> bool:
    """Shard `shard`'s group has committed every enriched article."""
    return await consumer_lag(settings.model_copy(update={"shard": shard}), spec(Stage.ALERTING)) == 0
