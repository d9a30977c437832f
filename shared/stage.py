"""One pipeline stage as a faust-streaming agent: read a topic, transform, write the next.

A message the transform cannot handle goes to the dead-letter topic with the error, the stage
and the original payload, and the agent moves on. Offsets are committed by faust only after the
event was handled and its output delivered (at-least-once); article ids are deterministic and
Elasticsearch writes are keyed by them, so a replay after a crash never duplicates an article.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

import faust

from shared.contracts import (
    DeadLetter,
    Stage,
    Topic,
    article_id_of,
    headers_for,
    topic_name,
)
from shared.kafka import ensure_topics
from shared.settings import Settings

log = logging.getLogger(__name__)


class StageOutput(Protocol):
    article_id: str

    @property
    def submitted_at(self) -> Any: ...

    def to_bytes(self) -> bytes: ...


Transform = Callable[[bytes], StageOutput]


def build_stage_app(
    settings: Settings, stage: Stage, source: Topic, sink: Topic, transform: Transform
) -> faust.App:
    app = faust.App(
        settings.consumer_group(stage.value),
        broker=f"kafka://{settings.kafka_bootstrap}",
        web_enabled=False,
        store="memory://",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        # A crashed worker's partitions move to a live one after 10 s, not faust's default 60 s.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        producer_max_request_size=settings.max_body_bytes * 2,
        consumer_max_fetch_size=settings.max_body_bytes * 2,
    )

    def raw_topic(topic: Topic) -> faust.TopicT:
        # Typed keys and values (raw bytes; our pydantic contracts do the decoding).
        return app.topic(
            topic_name(settings, topic), key_type=bytes, value_type=bytes,
            key_serializer="raw", value_serializer="raw",
            partitions=settings.topic_partitions,
        )

    source_topic, sink_topic, dead_letters = raw_topic(source), raw_topic(sink), raw_topic(Topic.DEAD_LETTER)

    @app.agent(source_topic, name=f"{stage.value}-agent")
    async def process(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            try:
                output = transform(event.value)
            except Exception as exc:  # any failure of one message must not stop the stage
                letter = DeadLetter.for_payload(
                    event.value, stage=stage, error=str(exc)[:2000], error_type=type(exc).__name__,
                    article_id=article_id_of(message.key, event.value),
                    source_topic=message.topic, partition=message.partition, offset=message.offset,
                )
                await _deliver(dead_letters, letter.article_id, letter.to_bytes(), [])
                log.warning("%s: dead-lettered offset %s: %s", stage, message.offset, exc)
                continue
            await _deliver(
                sink_topic, output.article_id, output.to_bytes(),
                headers_for(output.article_id, output.submitted_at, stage),
            )

    return app


async def _deliver(
    topic: faust.TopicT, key: str | None, value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    """Sends and waits for the broker's acknowledgement, so the input offset is committed only
    after the output is safely stored."""
    pending = await topic.send(key=key.encode() if key else None, value=value, headers=headers)
    await pending


def run_stage(app: faust.App, settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(ensure_topics(settings))
    worker = faust.Worker(app, loglevel="INFO")
    worker.execute_from_commandline()
