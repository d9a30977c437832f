"""Contracts of the ops views: worker heartbeats and dead-letter replays (both tables on
compacted topics)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.contracts.messages import Message, utcnow
from shared.contracts.topology import Stage


class WorkerHeartbeat(Message):
    """news.heartbeats, keyed `<stage>/<instance>`: a live worker says so every few seconds,
    with the partitions it holds (the broker's group API does not tell the monitor who is in a
    group, which is what tells a stopped stage from a stuck one)."""

    stage: Stage
    instance: str
    group: str | None = None  # its consumer group (a sharded stage has one per shard)
    partitions: list[int] = Field(default_factory=list)
    processed: int = 0
    dead_lettered: int = 0
    started_at: datetime
    updated_at: datetime = Field(default_factory=utcnow)
    stopping: bool = False
    metrics_port: int | None = None
    # Background tasks of the worker that are not running (crashed, waiting to restart).
    tasks_down: list[str] = Field(default_factory=list)


class Replay(Message):
    """news.replays, keyed by the dead letter's id (`<partition>-<offset>`): a letter sent back
    to its source topic, once (a second replay must be asked for explicitly)."""

    letter_id: str
    source_topic: str
    article_id: str | None = None
    replayed_at: datetime = Field(default_factory=utcnow)
    replays: int = 1
