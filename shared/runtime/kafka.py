"""Kafka plumbing shared by the services: the one factory of Kafka clients (every producer,
consumer and admin client in newsflow is made here, with the deployment's security settings),
topic creation and its drift report, reachability, lag.

tests/unit/shared/runtime/test_client_factories.py fails if a module builds a client another way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from typing import Any

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.conn import create_conn
from aiokafka.errors import (
    GroupCoordinatorNotAvailableError,
    KafkaError,
    TopicAlreadyExistsError,
    UnsupportedSaslMechanismError,
)
from aiokafka.partitioner import murmur2

from shared.contracts.headers import headers_for
from shared.contracts.messages import RawArticle
from shared.contracts.topology import Stage, StageSpec, Topic, partition_count, topic_configs, topic_name
from shared.runtime.security import (
    ConnectionProblem,
    Unreachable,
    kafka_security_options,
    reason,
    ssl_error_in,
)
from shared.settings import Settings

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- the factory

def client_options(settings: Settings) -> dict[str, Any]:
    """Where the brokers are and how to talk to them: what every client below starts from."""
    return {"bootstrap_servers": settings.kafka_bootstrap, **kafka_security_options(settings)}


def make_admin(settings: Settings, **overrides: Any) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**{**client_options(settings), **overrides})


def make_reader(settings: Settings, *topics: str, **overrides: Any) -> AIOKafkaConsumer:
    """A consumer outside any group (tables, the monitor, peeks, tests): it reads what it is
    assigned or subscribed to, commits nothing, and may fetch a maximum-size message."""
    options: dict[str, Any] = {
        **client_options(settings),
        "group_id": None,
        "enable_auto_commit": False,
        "max_partition_fetch_bytes": settings.max_message_bytes + 100_000,
    }
    return AIOKafkaConsumer(*topics, **{**options, **overrides})


def replication(settings: Settings) -> dict[str, str]:
    """What every topic newsflow creates gets beside its own configs: writes acknowledged by
    all in-sync replicas, of which at least RF-1 (so one broker may be lost)."""
    return {"min.insync.replicas": str(max(1, settings.topic_replication_factor - 1))}


def wanted_topic(settings: Settings, topic: Topic) -> NewTopic:
    return NewTopic(name=topic_name(settings, topic),
                    num_partitions=partition_count(settings, topic),
                    replication_factor=settings.topic_replication_factor,
                    topic_configs={**topic_configs(topic), **replication(settings)})


async def ensure_topics(settings: Settings) -> list[str]:
    """Creates the pipeline's topics if missing (the broker does not auto-create), and reports
    (logs) every existing topic whose partitions, replication or configs differ from the table:
    they are used as they are, but never silently. Idempotent; returns the topics created.
    With `manage_topics` off (an operator owns them) it does nothing."""
    if not settings.manage_topics:
        return []
    admin = make_admin(settings)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [wanted_topic(settings, topic) for topic in Topic]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process won the race
                await admin.create_topics(missing)
            log.info("created topics %s", [t.name for t in missing])
        present = [t for t in wanted if t.name in existing]
        for difference in await topic_drift(admin, present):
            log.warning("topic differs from the topology table: %s", difference)
        return [t.name for t in missing]
    finally:
        await admin.close()


async def topic_drift(admin: AIOKafkaAdminClient, wanted: list[NewTopic]) -> list[str]:
    """One line per difference between existing topics and what the table wants of them."""
    if not wanted:
        return []
    differences: list[str] = []
    described = {t["topic"]: t for t in await admin.describe_topics([t.name for t in wanted])}
    resources = [ConfigResource(ConfigResourceType.TOPIC, t.name) for t in wanted]
    configs: dict[str, dict[str, str]] = {}
    for response in await admin.describe_configs(resources):
        for resource in response.resources:
            configs[resource[3]] = {entry[0]: entry[1] for entry in resource[4]}
    for topic in wanted:
        info = described.get(topic.name, {})
        partitions = info.get("partitions", [])
        if len(partitions) != topic.num_partitions:
            differences.append(f"{topic.name}: {len(partitions)} partitions, the table wants "
                               f"{topic.num_partitions}")
        replicas = {len(p.get("replicas", ())) for p in partitions}
        if partitions and replicas != {topic.replication_factor}:
            differences.append(f"{topic.name}: replication factor {'/'.join(map(str, sorted(replicas)))}, "
                               f"NEWSFLOW_TOPIC_REPLICATION_FACTOR is {topic.replication_factor}")
        have = configs.get(topic.name, {})
        for key, value in (topic.topic_configs or {}).items():
            if have.get(key) != value:
                differences.append(f"{topic.name}: {key}={have.get(key)}, the table wants {value}")
    return differences


def make_producer(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    """acks=all + idempotence: a retried send never writes a message twice."""
    options: dict[str, Any] = {
        **client_options(settings),
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
        **client_options(settings),
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


async def kafka_reachable(settings: Settings, timeout: float = 3.0) -> bool:
    return await kafka_brokers(settings, timeout) > 0


async def kafka_brokers(settings: Settings, timeout: float = 3.0) -> int:
    """How many brokers the cluster's metadata lists (0 when it does not answer)."""
    try:
        client = AIOKafkaClient(**client_options(settings), request_timeout_ms=int(timeout * 1000))
    except ConnectionProblem:
        return 0
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        return len(client.cluster.brokers())
    except Exception:
        return 0
    finally:
        await client.close()


async def check_kafka(settings: Settings, wait: float = 30.0) -> None:
    """Connects to a bootstrap broker as every client will and raises `ConnectionProblem` with
    one line when the configuration is wrong (untrusted certificate, hostname mismatch, refused
    credentials, a mechanism the broker does not offer), or `Unreachable` when no broker
    answered within `wait` seconds. aiokafka itself only logs such causes and retries."""
    options = kafka_security_options(settings)
    hosts = [h.strip() for h in settings.kafka_bootstrap.split(",") if h.strip()]
    protocol, user = settings.kafka_security_protocol, settings.kafka_sasl_username
    deadline = asyncio.get_running_loop().time() + wait
    last = "no bootstrap servers configured"
    while True:
        for address in hosts:
            host, _, port = address.rpartition(":")
            try:
                conn = await create_conn(host.strip("[]"), int(port), request_timeout_ms=5000, **options)
            except ssl.SSLError as exc:
                why = reason(exc)
                raise ConnectionProblem(f"Kafka at {address} ({protocol}): {why}{_tls_hint(why)}") from None
            except UnsupportedSaslMechanismError as exc:
                raise ConnectionProblem(f"Kafka at {address}: {exc}") from None
            except KafkaError as exc:
                if ssl_error_in(exc):  # the broker refused the handshake, e.g. without a certificate
                    why = reason(exc)
                    raise ConnectionProblem(f"Kafka at {address} ({protocol}): {why}{_tls_hint(why)}"
                                            ) from None
                if getattr(exc, "errno", None) in (58, 33, 34):  # authentication errors
                    raise ConnectionProblem(
                        f"Kafka at {address}: SASL authentication failed for user {user!r} "
                        f"({settings.kafka_sasl_mechanism}): {_one_line(exc)}") from None
                last = f"{address}: {_one_line(exc)}"
                continue
            except (TimeoutError, OSError) as exc:
                last = f"{address}: {_one_line(exc) or type(exc).__name__}"
                continue
            conn.close()
            return
        if asyncio.get_running_loop().time() > deadline:
            hint = "; does the listener speak another NEWSFLOW_KAFKA_SECURITY_PROTOCOL?" \
                if "closed" in last or "Reset" in last else ""
            raise Unreachable(f"Kafka unreachable at {settings.kafka_bootstrap} ({protocol}) after "
                              f"{wait:.0f}s: {last}{hint}")
        await asyncio.sleep(1.0)


def _tls_hint(why: str) -> str:
    if "CERTIFICATE_REQUIRED" in why.upper():
        return ("; this listener wants a client certificate: NEWSFLOW_KAFKA_SSL_CERT_FILE and "
                "NEWSFLOW_KAFKA_SSL_KEY_FILE")
    if any(alert in why.upper() for alert in ("UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_UNKNOWN")):
        return "; the brokers do not trust this client certificate (signed by another CA?)"
    if "Hostname mismatch" in why or "IP address mismatch" in why:
        return ("; connect by a name the certificate holds (or NEWSFLOW_KAFKA_SSL_VERIFY_HOSTNAME=0, "
                "which gives up checking who answers)")
    if "not trusted" in why:
        return "; name the CA that signed the brokers' certificates in NEWSFLOW_KAFKA_SSL_CA_FILE"
    if "WRONG_VERSION_NUMBER" in why.upper():
        return "; the listener does not speak TLS: check NEWSFLOW_KAFKA_SECURITY_PROTOCOL"
    return ""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


async def consumer_lag(settings: Settings, stage: StageSpec, group: str | None = None) -> int:
    """Messages on the stage's input topic that its consumer group (or `group`, one of a
    sharded stage's) has not committed yet."""
    if stage.reads is None:
        return 0
    name = topic_name(settings, stage.reads)
    admin = make_admin(settings)
    consumer = make_reader(settings)
    await admin.start()
    await consumer.start()
    try:
        committed = await _group_offsets(admin, group or stage.consumer_group(settings))
        partitions = [tp for tp in await topic_partitions(consumer, name)]
        ends = await consumer.end_offsets(partitions)
        return sum(
            end - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0)
            for tp, end in ends.items()
        )
    finally:
        await consumer.stop()
        await admin.close()


async def _group_offsets(admin: AIOKafkaAdminClient, group: str, wait: float = 15.0) -> dict[Any, Any]:
    """A group's committed offsets; on a new cluster the offsets topic, and with it the group
    coordinator, appears only once a client first asks, so that is retried for a while."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        try:
            return dict(await admin.list_consumer_group_offsets(group))
        except GroupCoordinatorNotAvailableError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    ids = consumer.partitions_for_topic(topic)
    if ids is None:
        await consumer._client.force_metadata_update()  # a fresh consumer has no metadata yet
        ids = consumer.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(ids)]


def partition_of(key: str, partitions: int) -> int:
    """The partition the producer's default partitioner puts a key in (murmur2, as Java's)."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


async def read_at(consumer: AIOKafkaConsumer, topic: str, partition: int, offset: int,
                  timeout: float = 10.0) -> Any | None:
    """One record (value and headers) by its position, with a started reader (which is left
    assigned to that partition), or None when the topic no longer holds it."""
    tp = TopicPartition(topic, partition)
    consumer.assign([tp])
    if offset < (await consumer.beginning_offsets([tp]))[tp] or \
            offset >= (await consumer.end_offsets([tp]))[tp]:
        return None
    consumer.seek(tp, offset)
    record = await asyncio.wait_for(consumer.getone(tp), timeout)
    return record if record.offset == offset else None


async def fetch_record(settings: Settings, topic: str, partition: int, offset: int,
                       timeout: float = 10.0) -> Any | None:
    """`read_at` with a reader of its own, for a one-off read."""
    consumer = make_reader(settings)
    await consumer.start()
    try:
        return await read_at(consumer, topic, partition, offset, timeout)
    finally:
        await consumer.stop()


async def fetch_message(settings: Settings, topic: str, partition: int, offset: int,
                        timeout: float = 10.0) -> bytes | None:
    """One message's value by its position (a dead letter's reference to an original too large
    to copy), or None when the topic no longer holds it."""
    record = await fetch_record(settings, topic, partition, offset, timeout)
    return record.value if record is not None else None
