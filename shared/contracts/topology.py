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
    ENRICHED = "news.enriched"
    DEAD_LETTER = "news.deadletter"


class Stage(StrEnum):
    INGEST = "ingest"
    EXTRACTION = "extraction"
    ENRICHMENT = "enrichment"
    INDEXING = "indexing"


class Sink(StrEnum):
    """Where a stage writes when it is not a topic."""

    ELASTICSEARCH = "elasticsearch"


class StageSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: Stage
    service: str  # the package under services/ that runs it (`python -m services.<service>`)
    reads: Topic | None = None  # None: its input comes from outside (HTTP, feeds)
    writes: Topic | Sink

    def consumer_group(self, settings: Settings) -> str:
        return settings.consumer_group(self.stage.value)


TOPOLOGY: tuple[StageSpec, ...] = (
    StageSpec(stage=Stage.INGEST, service="ingest", writes=Topic.RAW),
    StageSpec(stage=Stage.EXTRACTION, service="extraction", reads=Topic.RAW, writes=Topic.EXTRACTED),
    StageSpec(stage=Stage.ENRICHMENT, service="enrichment", reads=Topic.EXTRACTED,
              writes=Topic.ENRICHED),
    StageSpec(stage=Stage.INDEXING, service="indexing", reads=Topic.ENRICHED,
              writes=Sink.ELASTICSEARCH),
)

# Services that are not stages of the chain: they read the index or feed the ingest API.
SIDE_SERVICES = ("search_api",)


def spec(stage: Stage) -> StageSpec:
    return next(s for s in TOPOLOGY if s.stage is stage)


def consuming_stages() -> list[StageSpec]:
    """The stages that read a topic, in pipeline order."""
    return [s for s in TOPOLOGY if s.reads is not None]


def topic_name(settings: Settings, topic: Topic) -> str:
    return settings.topic(topic.value)


def topic_configs(topic: Topic) -> dict[str, str]:
    """Per-topic broker configs: dead letters are kept longer so someone can look at them."""
    week_ms = 7 * 24 * 3600 * 1000
    retention = 4 * week_ms if topic is Topic.DEAD_LETTER else week_ms
    return {"retention.ms": str(retention), "cleanup.policy": "delete"}
