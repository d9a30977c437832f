"""Topics newsflow creates get the table's partitions, the replication factor and
min.insync.replicas; existing topics that differ from the table are reported, not silently used."""

from __future__ import annotations

import logging
import uuid

import pytest

from deploy.local.services import drop_namespace
from deploy.local.stack import Stack
from shared.contracts.topology import Topic, topic_name
from shared.runtime.kafka import ensure_topics, make_admin, topic_drift, wanted_topic

pytestmark = pytest.mark.integration


async def test_existing_topics_that_differ_from_the_table_are_reported(
        stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    settings = stack.client_settings(namespace=f"topics-{uuid.uuid4().hex[:8]}", topic_partitions=2)
    try:
        created = await ensure_topics(settings)
        assert topic_name(settings, Topic.RAW) in created
        admin = make_admin(settings)
        await admin.start()
        try:
            raw = (await admin.describe_topics([topic_name(settings, Topic.RAW)]))[0]
            assert len(raw["partitions"]) == 2
            assert await topic_drift(admin, [wanted_topic(settings, t) for t in Topic]) == []
            # The same topics, as a deployment configured otherwise would want them.
            other = stack.client_settings(namespace=settings.namespace, topic_partitions=3,
                                          topic_replication_factor=stack.brokers + 2)
            drift = await topic_drift(admin, [wanted_topic(other, Topic.RAW)])
        finally:
            await admin.close()
        name = topic_name(settings, Topic.RAW)
        factor = min(3, stack.brokers)  # what the stack gives its topics
        assert drift == [
            f"{name}: 2 partitions, the table wants 3",
            f"{name}: replication factor {factor}, NEWSFLOW_TOPIC_REPLICATION_FACTOR is {stack.brokers + 2}",
            f"{name}: min.insync.replicas={max(1, factor - 1)}, the table wants {stack.brokers + 1}",
        ]
        with caplog.at_level(logging.WARNING, logger="shared.runtime.kafka"):
            assert await ensure_topics(other) == []  # nothing created: they exist
        assert f"topic differs from the topology table: {name}: 2 partitions, the table wants 3" \
            in caplog.text
    finally:
        await drop_namespace(settings)
