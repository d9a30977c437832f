"""Kafka plumbing shared by the services: topic creation, producers, consumers, dead letters."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.contracts import (
    DeadLetter,
    Header,
    RawArticle,
    Stage,
    Topic,
    headers_for,
    topic_configs,
    topic_name,
)
from shared.settings import Settings

log = logging.getLogger(__name__)


async def ensure_topics(settings: Settings) -> list[str]:
    """Creates the pipeline's topics if missing (the broker does not auto-create). Idempotent."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=topic_name(settings, topic),
                num_partitions=settings.topic_partitions,
                replication_factor=settings.topic_replication_factor,
                topic_configs=topic_configs(topic),
            )
            for topic in Topic
            if topic_name(settings, topic) not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process won the race
                await admin.create_topics(wanted)
            log.info("created topics %s", [t.name for t in wanted])
        return [t.name for t in wanted]
    finally:
        await admin.close()


def make_producer(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    """acks=all + idempotence: a retried send never writes a message twice."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "compression_type": "gzip",
        "max_request_size": settings.max_body_bytes * 2,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(settings: Settings, stage: Stage, *topics: Topic, **overrides: Any) -> AIOKafkaConsumer:
    """Manual commits, starting from the earliest message a new group has not seen."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "group_id": settings.consumer_group(stage.value),
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_partition_fetch_bytes": settings.max_body_bytes * 2,
    }
    options.update(overrides)
    return AIOKafkaConsumer(*(topic_name(settings, t) for t in topics), **options)


async def publish_raw(producer: AIOKafkaProducer, settings: Settings, raw: RawArticle) -> None:
    """Into the pipeline: keyed by article id, so one article's versions stay in order."""
    await producer.send_and_wait(
        topic_name(settings, Topic.RAW), raw.to_bytes(), key=raw.article_id.encode(),
        headers=headers_for(raw.article_id, raw.submitted_at, Stage.INGEST),
    )


async def send_dead_letter(
    producer: AIOKafkaProducer, settings: Settings, letter: DeadLetter
) -> None:
    headers = [(Header.STAGE.value, letter.stage.value.encode())]
    if letter.article_id:
        headers.append((Header.ARTICLE_ID.value, letter.article_id.encode()))
    await producer.send_and_wait(
        topic_name(settings, Topic.DEAD_LETTER),
        letter.to_bytes(),
        key=letter.article_id.encode() if letter.article_id else None,
        headers=headers,
    )
    log.warning(
        "dead letter from %s: %s: %s (article %s)",
        letter.stage, letter.error_type, letter.error, letter.article_id,
    )


async def consumer_lag(settings: Settings, stage: Stage, topic: Topic) -> int:
    """Messages on `topic` that the stage's consumer group has not committed yet."""
    name = topic_name(settings, topic)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(settings.consumer_group(stage.value))
        partitions = [tp for tp in await _partitions(consumer, name)]
        ends = await consumer.end_offsets(partitions)
        return sum(
            end - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0)
            for tp, end in ends.items()
        )
    finally:
        await consumer.stop()
        await admin.close()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    ids = consumer.partitions_for_topic(topic)
    if ids is None:
        await consumer._client.force_metadata_update()  # a fresh consumer has no metadata yet
        ids = consumer.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(ids)]
