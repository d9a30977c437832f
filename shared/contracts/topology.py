"""The topology table: which stage reads which topic, writes which, and in which consumer group.

Workers, the `newsflow` CLI, deploy/local and the monitoring read this table; none spells the
pipeline out again. A new stage is one more `StageSpec` row (plus its service).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.settings import Settings


class Topic(StrEnum):
    """Logical topic names; `topic_name()` adds the namespace."""

    RAW = "news.raw"
    EXTRACTED = "news.extracted"
    # Enriched on its own (NLP, any number of workers), before the linker adds duplicates and
    # stories: one partition, so one linker decides in one total order.
    ANALYSED = "news.analysed"
    ENRICHED = "news.enriched"
    # The linker's decisions of record (a compacted table keyed by article id, one partition):
    # what a restarted or standby linker rebuilds its memory from.
    LINKS = "news.links"
    DEAD_LETTER = "news.deadletter"
    # Alerts: subscriptions and API keys are compacted tables (the last record per key is the
    # truth, a null value deletes); alerts are events; deliveries are each alert's last state.
    SUBSCRIPTIONS = "news.subscriptions"
    API_KEYS = "news.apikeys"
    ALERTS = "news.alerts"
    DELIVERIES = "news.deliveries"
    # Each subscription's webhook health (consecutive failures, why it was disabled): a table
    # as small as the subscriptions, apart from the per-alert delivery states.
    ENDPOINTS = "news.endpoints"
    # Ops: live workers, and dead letters sent back.
    HEARTBEATS = "news.heartbeats"
    REPLAYS = "news.replays"


# Topics read as tables: every reader materialises the whole topic, keyed by message key.
COMPACTED = frozenset({Topic.SUBSCRIPTIONS, Topic.API_KEYS, Topic.DELIVERIES, Topic.ENDPOINTS,
                       Topic.HEARTBEATS, Topic.REPLAYS, Topic.LINKS})
# Tables whose rows also expire: the linker's decisions (its memory is a week) and delivery
# states (a final state is in the alert history; the deliverer holds only what is in flight).
EXPIRING = frozenset({Topic.LINKS, Topic.DELIVERIES})
# Topics that must keep one total order: their readers decide against everything before.
SINGLE_PARTITION = frozenset({Topic.ANALYSED, Topic.LINKS})


class Stage(StrEnum):
    INGEST = "ingest"
    EXTRACTION = "extraction"
    ENRICHMENT = "enrichment"
    LINKING = "linking"
    INDEXING = "indexing"
    ALERTING = "alerting"
    DELIVERY = "delivery"
    HISTORY = "history"
    DELIVERY_HISTORY = "delivery_history"


class Sink(StrEnum):
    """Where a stage writes when it is not a topic."""

    ELASTICSEARCH = "elasticsearch"
    WEBHOOKS = "webhooks"


class StageSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: Stage
    service: str  # the package under services/ that runs it (`python -m services.<service>`)
    reads: Topic | None = None  # None: its input comes from outside (HTTP, feeds)
    writes: Topic | Sink
    # Tables the stage keeps beside what it writes (the deliverer's states, for instance).
    records: tuple[Topic, ...] = ()

    def outputs(self) -> tuple[Topic | Sink, ...]:
        return (self.writes, *self.records)

    def consumer_group(self, settings: Settings) -> str:
        return settings.consumer_group(self.stage.value)


TOPOLOGY: tuple[StageSpec, ...] = (
    StageSpec(stage=Stage.INGEST, service="ingest", writes=Topic.RAW),
    StageSpec(stage=Stage.EXTRACTION, service="extraction", reads=Topic.RAW, writes=Topic.EXTRACTED),
    StageSpec(stage=Stage.ENRICHMENT, service="enrichment", reads=Topic.EXTRACTED,
              writes=Topic.ANALYSED),
    # Duplicates and stories: decided by one active linker (others stand by), see its service.
    StageSpec(stage=Stage.LINKING, service="linking", reads=Topic.ANALYSED, writes=Topic.ENRICHED),
    StageSpec(stage=Stage.INDEXING, service="indexing", reads=Topic.ENRICHED,
              writes=Sink.ELASTICSEARCH),
    # A branch beside the indexer: alerts flow from the enriched stream, not from the index,
    # so they keep flowing while Elasticsearch is down.
    StageSpec(stage=Stage.ALERTING, service="alerts", reads=Topic.ENRICHED, writes=Topic.ALERTS),
    StageSpec(stage=Stage.DELIVERY, service="delivery", reads=Topic.ALERTS, writes=Sink.WEBHOOKS,
              records=(Topic.DELIVERIES, Topic.ENDPOINTS)),
    # The alert history and each alert's delivery state, in Elasticsearch (time-based indices
    # dropped whole past retention): what history pages, feeds and digests read, so that no
    # API instance reads news.alerts or news.deliveries from the start.
    StageSpec(stage=Stage.HISTORY, service="history", reads=Topic.ALERTS, writes=Sink.ELASTICSEARCH),
    StageSpec(stage=Stage.DELIVERY_HISTORY, service="history.deliveries", reads=Topic.DELIVERIES,
              writes=Sink.ELASTICSEARCH),
)
# The chain every article goes through, ingest to index.
PIPELINE = TOPOLOGY[:5]

# Services that are not stages of the chain: they read the index, or watch the topics.
SIDE_SERVICES = ("search_api", "monitor")


def spec(stage: Stage) -> StageSpec:
    return next(s for s in TOPOLOGY if s.stage is stage)


def consuming_stages() -> list[StageSpec]:
    """The stages that read a topic, in pipeline order."""
    return [s for s in TOPOLOGY if s.reads is not None]


def topic_name(settings: Settings, topic: Topic) -> str:
    return settings.topic(topic.value)


def partition_count(settings: Settings, topic: Topic) -> int:
    return 1 if topic in SINGLE_PARTITION else settings.topic_partitions


def topic_configs(topic: Topic) -> dict[str, str]:
    """Per-topic broker configs: dead letters are kept longer so someone can look at them;
    tables are compacted, never expired, except the linker's, which forgets after a week
    (as its memory does: older articles are not compared with), and delivery states, whose
    final ones live on in the alert history."""
    week_ms = 7 * 24 * 3600 * 1000
    if topic in EXPIRING:
        return {"cleanup.policy": "compact,delete", "retention.ms": str(week_ms),
                "min.compaction.lag.ms": "60000"}
    if topic in COMPACTED:
        return {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}
    retention = 4 * week_ms if topic is Topic.DEAD_LETTER else week_ms
    return {"retention.ms": str(retention), "cleanup.policy": "delete"}
