"""Kafka plumbing shared by the services: topic creation, producers, consumers, reachability, lag."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.contracts.headers import headers_for
from shared.contracts.messages import RawArticle
from shared.contracts.topology import Stage, StageSpec, Topic, partition_count, topic_configs, topic_name
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
                num_partitions=partition_count(settings, topic),
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
        # Room for the key and headers beside the largest value a stage sends.
        "max_request_size": settings.max_message_bytes + 100_000,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(settings: Settings, stage: StageSpec, **overrides: Any) -> AIOKafkaConsumer:
    """A stage's consumer: its group, its input topic, manual commits, from the earliest message a
    new group has not seen. A crashed worker's partitions move to a live one after 10 s."""
    if stage.reads is None:
        raise ValueError(f"stage {stage.stage} reads no topic")
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "group_id": stage.consumer_group(settings),
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_partition_fetch_bytes": settings.max_message_bytes + 100_000,
        "fetch_max_bytes": (settings.max_message_bytes + 100_000) * 2,
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 3_000,
        # NLP on a large batch may take a while; the group must not think we are gone.
        "max_poll_interval_ms": 600_000,
    }
    options.update(overrides)
    return AIOKafkaConsumer(topic_name(settings, stage.reads), **options)


async def publish_raw(producer: AIOKafkaProducer, settings: Settings, raw: RawArticle) -> None:
    """Into the pipeline: keyed by article id, so one article's versions stay in order."""
    await producer.send_and_wait(
        topic_name(settings, Topic.RAW), raw.to_bytes(), key=raw.article_id.encode(),
        headers=headers_for(raw.article_id, raw.submitted_at, Stage.INGEST),
    )


async def kafka_reachable(bootstrap: str, timeout: float = 3.0) -> bool:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        return bool(client.cluster.brokers())
    except Exception:
        return False
    finally:
        await client.close()


async def consumer_lag(settings: Settings, stage: StageSpec) -> int:
    """Messages on the stage's input topic that its consumer group has not committed yet."""
    if stage.reads is None:
        return 0
    name = topic_name(settings, stage.reads)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(stage.consumer_group(settings))
        partitions = [tp for tp in await topic_partitions(consumer, name)]
        ends = await consumer.end_offsets(partitions)
        return sum(
            end - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0)
            for tp, end in ends.items()
        )
    finally:
        await consumer.stop()
        await admin.close()


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    ids = consumer.partitions_for_topic(topic)
    if ids is None:
        await consumer._client.force_metadata_update()  # a fresh consumer has no metadata yet
        ids = consumer.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(ids)]


async def fetch_message(settings: Settings, topic: str, partition: int, offset: int,
                        timeout: float = 10.0) -> bytes | None:
    """One message's value by its position (a dead letter's reference to an original too large
    to copy), or None when the topic no longer holds it."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=settings.max_message_bytes + 100_000)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        if offset < (await consumer.beginning_offsets([tp]))[tp] or \
                offset >= (await consumer.end_offsets([tp]))[tp]:
            return None
        consumer.seek(tp, offset)
        record = await asyncio.wait_for(consumer.getone(tp), timeout)
        return record.value if record.offset == offset else None
    finally:
        await consumer.stop()
