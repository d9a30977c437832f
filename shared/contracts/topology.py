"""The topology table: which stage reads which topic, writes which, in which consumer group, and
on which port it answers scrapers and probes.

Workers, the `newsflow` CLI, deploy/local and the monitor read this table; the ops configs
(Prometheus scrape configs and target rules, the compose file's services, the Kubernetes
Deployments, topics, users and their ACLs, the docs' diagrams and table) are generated from it by
`python -m deploy.generate` and a test fails when any copy differs. A new stage is one more
`StageSpec` row (plus its service), then `python -m deploy.generate`.
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
    # The matcher's spike counts and breaking stories, per subscription and input partition: a
    # table as small as the volume and breaking subscriptions (windows bounded in time), what
    # a restarted or new matcher starts from.
    SIGNALS = "news.alert-signals"
    DELIVERIES = "news.deliveries"
    # Each subscription's webhook health (consecutive failures, why it was disabled): a table
    # as small as the subscriptions, apart from the per-alert delivery states.
    ENDPOINTS = "news.endpoints"
    # Ops: live workers, and dead letters sent back.
    HEARTBEATS = "news.heartbeats"
    REPLAYS = "news.replays"


# Topics read as tables: every reader materialises the whole topic, keyed by message key.
COMPACTED = frozenset({Topic.SUBSCRIPTIONS, Topic.API_KEYS, Topic.DELIVERIES, Topic.ENDPOINTS,
                       Topic.HEARTBEATS, Topic.REPLAYS, Topic.LINKS, Topic.SIGNALS})
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
    CHANNELS = "channels"  # webhook, email, Slack, Teams (services/delivery/channels/)


class Scaling(StrEnum):
    """How a component runs as several replicas."""

    PARTITIONS = "partitions"  # a consumer group: up to one busy replica per input partition
    STANDBY = "standby"  # one active replica decides; the others follow and take over
    HTTP = "http"  # stateless HTTP behind a load balancer
    SINGLE = "single"  # exactly one (its state is its own)


# A second worker of a stage on the same host serves its metrics this many ports further on.
SAME_HOST_PORT_STEP = 100


class StageSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: Stage
    service: str  # the package under services/ that runs it (`python -m services.<service>`)
    reads: Topic | None = None  # None: its input comes from outside (HTTP, feeds)
    writes: Topic | Sink
    # Tables the stage keeps beside what it writes (the deliverer's states, for instance).
    records: tuple[Topic, ...] = ()
    # Topics it reads whole beside its input (tables it follows), without a consumer group.
    follows: tuple[Topic, ...] = ()
    # Where scrapers and probes reach it: a worker's own /metrics, /healthz and /readyz, or,
    # for a stage that is an API (ingest), the API's port (/metrics/, /health/live, /health/ready).
    port: int
    api: bool = False
    scaling: Scaling = Scaling.PARTITIONS
    # Its state split into `settings.shards` parts (subscriptions, by `shard_of`): one consumer
    # group per shard, each reading every input record; replicas of a shard share its partitions.
    sharded: bool = False

    def outputs(self) -> tuple[Topic | Sink, ...]:
        return (self.writes, *self.records)

    def consumer_group(self, settings: Settings, shard: int | None = None) -> str:
        """Its group; a sharded stage's is the shard's (`shard`, else the settings' own)."""
        group = settings.consumer_group(self.stage.value)
        if self.sharded and settings.shards > 1:
            return f"{group}.shard-{settings.shard if shard is None else shard}"
        return group

    def consumer_groups(self, settings: Settings) -> list[str]:
        """Every group of the stage: one, or one per shard."""
        shards = settings.shards if self.sharded else 1
        return [self.consumer_group(settings, shard) for shard in range(shards)]

    @property
    def name(self) -> str:
        """Its label in metrics, scrape configs and manifests."""
        return self.stage.value

    def topics_read(self) -> tuple[Topic, ...]:
        return tuple(dict.fromkeys([*([self.reads] if self.reads else []), *self.follows]))

    def topics_written(self) -> tuple[Topic, ...]:
        """Its outputs, and what every worker writes: heartbeats and dead letters."""
        own = [t for t in self.outputs() if isinstance(t, Topic)]
        extra = [Topic.HEARTBEATS, Topic.DEAD_LETTER] if not self.api else []
        return tuple(dict.fromkeys([*own, *extra]))


class ServiceSpec(BaseModel):
    """A service beside the chain: an API that reads the index or watches the topics."""

    model_config = ConfigDict(frozen=True)

    service: str
    port: int
    follows: tuple[Topic, ...] = ()
    writes: tuple[Topic, ...] = ()
    scaling: Scaling = Scaling.HTTP
    api: bool = True  # always, as a field so that every component answers `.api`
    # Reads every topic and describes every group (the monitor).
    watches_all: bool = False

    @property
    def name(self) -> str:
        return self.service

    def topics_read(self) -> tuple[Topic, ...]:
        return tuple(Topic) if self.watches_all else self.follows

    def topics_written(self) -> tuple[Topic, ...]:
        return tuple(dict.fromkeys(self.writes))


TOPOLOGY: tuple[StageSpec, ...] = (
    StageSpec(stage=Stage.INGEST, service="ingest", writes=Topic.RAW, follows=(Topic.API_KEYS,),
              port=8001, api=True, scaling=Scaling.HTTP),
    StageSpec(stage=Stage.EXTRACTION, service="extraction", reads=Topic.RAW, writes=Topic.EXTRACTED,
              port=9401),
    StageSpec(stage=Stage.ENRICHMENT, service="enrichment", reads=Topic.EXTRACTED,
              writes=Topic.ANALYSED, port=9402),
    # Duplicates and stories: decided by one active linker (others stand by), see its service.
    StageSpec(stage=Stage.LINKING, service="linking", reads=Topic.ANALYSED, writes=Topic.ENRICHED,
              records=(Topic.LINKS,), follows=(Topic.LINKS,), port=9403, scaling=Scaling.STANDBY),
    StageSpec(stage=Stage.INDEXING, service="indexing", reads=Topic.ENRICHED,
              writes=Sink.ELASTICSEARCH, port=9404),
    # A branch beside the indexer: alerts flow from the enriched stream, not from the index,
    # so they keep flowing while Elasticsearch is down.
    StageSpec(stage=Stage.ALERTING, service="alerts", reads=Topic.ENRICHED, writes=Topic.ALERTS,
              records=(Topic.SIGNALS,), follows=(Topic.SUBSCRIPTIONS, Topic.API_KEYS, Topic.SIGNALS),
              port=9405, sharded=True),
    StageSpec(stage=Stage.DELIVERY, service="delivery", reads=Topic.ALERTS, writes=Sink.CHANNELS,
              records=(Topic.DELIVERIES, Topic.ENDPOINTS),
              follows=(Topic.SUBSCRIPTIONS, Topic.API_KEYS, Topic.DELIVERIES, Topic.ENDPOINTS),
              port=9406),
    # The alert history and each alert's delivery state, in Elasticsearch (time-based indices
    # dropped whole past retention): what history pages, feeds and digests read, so that no
    # API instance reads news.alerts or news.deliveries from the start.
    StageSpec(stage=Stage.HISTORY, service="history", reads=Topic.ALERTS, writes=Sink.ELASTICSEARCH,
              port=9407),
    StageSpec(stage=Stage.DELIVERY_HISTORY, service="history.deliveries", reads=Topic.DELIVERIES,
              writes=Sink.ELASTICSEARCH, port=9408),
)


def spec(stage: Stage) -> StageSpec:
    return next(s for s in TOPOLOGY if s.stage is stage)


def _chain() -> tuple[StageSpec, ...]:
    """Ingest to the index, following each stage's output to the next stage's input."""
    chain = [spec(Stage.INGEST)]
    while chain[-1].writes is not Sink.ELASTICSEARCH:
        readers = [s for s in TOPOLOGY if s.reads is chain[-1].writes]
        chain.append(next((s for s in readers if s.writes is Sink.ELASTICSEARCH), readers[0]))
    return tuple(chain)


# The chain every article goes through, ingest to index.
PIPELINE = _chain()
# The stage that writes articles into the index (the chain's last).
INDEXER = PIPELINE[-1]

# Services that are not stages of the chain: they read the index, or watch the topics.
APIS: tuple[ServiceSpec, ...] = (
    ServiceSpec(service="search_api", port=8000,
                follows=(Topic.API_KEYS, Topic.SUBSCRIPTIONS, Topic.ENDPOINTS, Topic.ALERTS),
                writes=(Topic.SUBSCRIPTIONS,)),
    # Watches everything; writes replays (to the stage's input topic) and its own ops alerts.
    ServiceSpec(service="monitor", port=8002, watches_all=True, scaling=Scaling.SINGLE,
                writes=(Topic.REPLAYS, Topic.ALERTS,
                        *dict.fromkeys(s.reads for s in TOPOLOGY if s.reads is not None))),
)
SIDE_SERVICES = tuple(a.service for a in APIS)
# Every component that runs: the stages, then the APIs beside them.
COMPONENTS: tuple[StageSpec | ServiceSpec, ...] = (*TOPOLOGY, *APIS)


def watched_topics() -> tuple[Topic, ...]:
    """The topics whose messages carry an article (or an alert of one): every topic a stage
    reads or writes as its stream, in chain order, and the dead letters."""
    streams = [t for s in TOPOLOGY for t in (s.reads, s.writes)
               if isinstance(t, Topic) and t not in COMPACTED]
    return tuple(dict.fromkeys([*streams, Topic.DEAD_LETTER]))


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
