"""The topology table: a chain with no gaps, one reader per topic, one group per stage."""

from __future__ import annotations

import itertools

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
