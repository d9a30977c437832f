"""The linker's sink: decisions reach the table, in order, before any article goes on, and a
broker outage is retried from the first decision that failed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka.errors import KafkaConnectionError

from services.linking import sink as linking
from services.linking.link import Linker
from shared.contracts.messages import EnrichedArticle, LinkRecord
from shared.contracts.topology import Topic, topic_name
from shared.runtime.stage import Decoded
from shared.runtime.tables import TopicFollower
from shared.settings import Settings
from tests.fakes import FakeProducer, FakeRecord

SETTINGS = Settings(namespace="unit")
LINKS, ENRICHED = topic_name(SETTINGS, Topic.LINKS), topic_name(SETTINGS, Topic.ENRICHED)


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linking, "backoff", lambda attempt: 0.0)


def _batch() -> list[Decoded]:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    return [Decoded(FakeRecord(topic_name(SETTINGS, Topic.ANALYSED), 0, n, f"a{n}".encode(), b"{}"),
                    EnrichedArticle(article_id=f"a{n}", title=f"Title {n}", body=f"Body number {n}.",
                                    submitted_at=now, content_hash=f"h{n}"))
            for n in range(3)]


@pytest.mark.parametrize("failure", [{"fail_sends": 1}, {"fail_deliveries": 1}])
async def test_decisions_are_recorded_in_order_before_the_articles_go_on(failure: dict[str, int]) -> None:
    producer = FakeProducer(error=KafkaConnectionError(), **failure)
    sink = linking.LinkSink(SETTINGS, producer, Linker(),
                            TopicFollower(SETTINGS, Topic.LINKS, lambda record: None))
    outcomes = await sink.write(_batch(), asyncio.Event())
    assert outcomes == [None, None, None]
    topics = [sent.topic for sent in producer.sent]
    assert topics.index(ENRICHED) > max(n for n, topic in enumerate(topics) if topic == LINKS)
    recorded = [LinkRecord.model_validate_json(s.value).article_id for s in producer.to(LINKS)]
    assert recorded[-3:] == ["a0", "a1", "a2"]  # the last attempt, whole and in order
    assert [s.key for s in producer.to(ENRICHED)] == [b"a0", b"a1", b"a2"]
