"""The monitor's views, one model each: the ops API answers them (and OpenAPI documents them),
the ops notices read them, and `newsflow status` / `deadletters` decode them. What a view
holds is said once, here."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

GroupStatus = Literal["OK", "WARN", "ERR"]
PartitionStatus = Literal["OK", "WARN", "STALL", "STOP", "REWIND"]


class PartitionView(BaseModel):
    partition: int
    committed: int
    end: int
    lag: int
    lag_seconds: float
    status: PartitionStatus
    owner: str | None = Field(description="the live worker holding it (from its heartbeat)")


class WorkerView(BaseModel):
    instance: str
    partitions: list[int]
    processed: int
    dead_lettered: int
    metrics_port: int | None
    tasks_down: list[str] = Field(description="background tasks not running (they make the stage WARN)")


class GroupView(BaseModel):
    """One consumer group: a stage's, or one shard's of a sharded stage."""

    stage: str
    name: str = Field(description="the stage, or `<stage>.shard-<n>`: what notices, metrics and "
                      "the CLI call the group")
    group: str
    topic: str
    writes: str
    status: GroupStatus
    lag: int = Field(description="messages not yet committed, over every partition")
    lag_seconds: float = Field(description="age of the oldest uncommitted message, estimated")
    workers: list[WorkerView]
    partitions: list[PartitionView]


class TopicView(BaseModel):
    topic: str
    name: str = Field(description="the topic's name on the broker (with the namespace)")
    partitions: int
    end_offset: int
    retained: int = Field(description="messages retained (bytes need an API aiokafka lacks)")
    rate: float = Field(description="messages in per second, at the last poll")
    rates: list[float] = Field(description="the last 60 polls' rates, oldest first")
    newest_at: float | None = None
    oldest_at: float | None = None


class LatencySummary(BaseModel):
    count: int
    p50: float
    p95: float
    p99: float


class LetterCounts(BaseModel):
    total: int
    by_stage: dict[str, dict[str, int]] = Field(description="stage → error type → letters")
    bucket_seconds: int
    series_start: int
    series: dict[str, list[int]] = Field(description="stage → letters per bucket, newest last")


class Topics(BaseModel):
    topics: list[TopicView]


class Groups(BaseModel):
    groups: list[GroupView]


class Latency(BaseModel):
    window_seconds: int
    latency: dict[str, LatencySummary] = Field(description="a stage, or ingest_to_<point>")


class Overview(BaseModel):
    at: float
    topics: list[TopicView]
    groups: list[GroupView]
    latency: dict[str, LatencySummary]
    deadletters: LetterCounts


class ReplayOutcome(BaseModel):
    replayed_at: str
    replays: int
    state: Literal["pending", "indexed", "failed again"]
    new_letter: str | None = Field(description="the letter the replay failed into, if it did")


class LetterSummary(BaseModel):
    id: str
    stage: str
    error_type: str
    error: str = Field(description="its first 300 characters")
    article_id: str | None
    source_topic: str | None
    partition: int | None
    offset: int | None
    at: str
    replay_of: str | None
    replay: ReplayOutcome | None


class LetterPage(BaseModel):
    total: int
    page: int
    size: int
    letters: list[LetterSummary]


class LetterDetail(LetterSummary):
    payload: str
    payload_encoding: str
    headers: dict[str, str]


class ReplayDone(BaseModel):
    letter_id: str
    source_topic: str
    article_id: str | None
    replayed_at: str
    replays: int


class Refusal(BaseModel):
    id: str
    reason: str


class ReplayBatch(BaseModel):
    dry_run: bool = Field(description="true: nothing was sent; `replayed` lists what would be")
    replayed: list[str]
    letters: list[LetterSummary] = Field(description="the letters of `replayed`, summarised")
    refused: list[Refusal]
