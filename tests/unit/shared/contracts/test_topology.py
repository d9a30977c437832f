"""The topology table: a chain with no gaps, one reader per topic, one group per stage."""

from __future__ import annotations

import itertools

import pytest

from shared.contracts.catalog import MESSAGE_OF_TOPIC
from shared.contracts.topology import (
    PIPELINE,
    TOPOLOGY,
    Sink,
    Stage,
    Topic,
    consuming_stages,
    spec,
    topic_name,
)
from shared.settings import Settings


def test_each_stage_reads_what_the_previous_one_writes() -> None:
    for before, after in itertools.pairwise(PIPELINE):
        assert after.reads == before.writes
    assert PIPELINE[0].reads is None and PIPELINE[-1].writes is Sink.ELASTICSEARCH


def test_branches_read_what_an_earlier_stage_writes() -> None:
    for position, stage in enumerate(TOPOLOGY):
        if stage not in PIPELINE:
            assert stage.reads in {out for before in TOPOLOGY[:position] for out in before.outputs()}
    assert spec(Stage.ALERTING).reads is Topic.ENRICHED


def test_every_topic_a_stage_reads_has_a_message_contract() -> None:
    for stage in consuming_stages():
        assert stage.reads in MESSAGE_OF_TOPIC
    assert set(MESSAGE_OF_TOPIC) == set(Topic)


def test_groups_and_topics_follow_the_namespace() -> None:
    settings = Settings(namespace="ns")
    assert spec(Stage.ENRICHMENT).consumer_group(settings) == "ns.newsflow-enrichment"
    assert topic_name(settings, Topic.RAW) == "ns.news.raw"
    assert len({s.consumer_group(settings) for s in TOPOLOGY}) == len(TOPOLOGY)


def test_a_sharded_stage_has_a_group_per_shard_and_others_keep_theirs() -> None:
    from shared.contracts.alerts import shard_of

    alerting, indexing = spec(Stage.ALERTING), spec(Stage.INDEXING)
    one = Settings()
    assert alerting.consumer_groups(one) == [alerting.consumer_group(one)] == ["newsflow-alerting"]
    two = Settings(shards=2, shard=1)
    assert alerting.consumer_group(two) == "newsflow-alerting.shard-1"
    assert alerting.consumer_groups(two) == ["newsflow-alerting.shard-0", "newsflow-alerting.shard-1"]
    assert indexing.consumer_groups(two) == ["newsflow-indexing"]
    with pytest.raises(ValueError, match="NEWSFLOW_SHARD=2 must be below NEWSFLOW_SHARDS=2"):
        Settings(shards=2, shard=2)
    counts = [0] * 4
    for n in range(20_000):
        counts[shard_of(f"sub_{n}", 4)] += 1
    assert all(4_500 < count < 5_500 for count in counts)  # even, whatever the ids
    assert {shard_of("sub_7", 1)} == {0} and shard_of("sub_7", 4) == shard_of("sub_7", 4)
