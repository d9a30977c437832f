"""Scale-out on the real broker: two enrichment workers, one joining late and SIGKILLed
halfway, and two linkers (one standing by), one SIGKILLed and restarted later still, decide
the same duplicates and stories as one linker deciding the same articles in submission order
(the order the linker restores, services/linking/order.py).

The articles are the 2,225 BBC news articles (../shared/data/bbc) when present, else a
generated set with planted exact and near duplicates. They go straight onto `news.raw`, and
the answers are read off `news.enriched`, so only the stages under test run here
(extraction, two enrichment workers, the linker), in a namespace of their own.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bench.data import read_bbc
from deploy.local.services import Services, drop_namespace
from deploy.local.stack import Stack
from services.linking.link import Linker
from shared.contracts.messages import EnrichedArticle, RawArticle
from shared.contracts.topology import Topic, topic_name
from shared.runtime.kafka import ensure_topics, make_producer
from shared.runtime.tables import TopicFollower
from shared.settings import Settings
from tests.conftest import REPO_ROOT
from tests.partitions import adjusted_rand_index
from tests.stack import eventually

pytestmark = pytest.mark.integration

BBC = REPO_ROOT.parent / "shared" / "data" / "bbc"
Decision = tuple[str | None, str | None, str | None]  # duplicate_of, duplicate_kind, story_id


def _articles() -> list[tuple[str, str]]:
    """(title, body) pairs, in submission order."""
    if (BBC / "articles.jsonl.gz").exists():
        return [(r["title"], r["text"]) for r in read_bbc(BBC)]
    rng = random.Random(7)
    towns = ["Aberdeen", "Bergen", "Cadiz", "Dresden", "Esbjerg", "Faro", "Gdansk", "Haarlem"]
    people = ["Maria Kowalski", "Tomas Berg", "Ines Duarte", "Karl Weber", "Sofia Rossi"]
    texts = []
    for n in range(200):
        town, person = rng.choice(towns), rng.choice(people)
        words = " ".join(rng.choice(["port", "union", "wage", "council", "budget", "school", "rail",
                                     "harbour", "vote", "tax", "festival", "bridge"])
                         for _ in range(120))
        texts.append((f"{town} report {n}", f"{person} spoke in {town} on Monday. {words}."))
    for n in range(0, 200, 10):  # planted copies: exact, and near (one word changed)
        title, body = texts[n]
        texts.append((title, body))
        texts.append((title, body.replace("Monday", "Tuesday", 1)))
    return texts


@dataclass
class Output:
    """What the linker sent, per article: every copy's decision (replays send again)."""

    decisions: dict[str, list[Decision]] = field(default_factory=dict)

    def apply(self, record: Any) -> None:
        article = json.loads(record.value)
        self.decisions.setdefault(article["article_id"], []).append(
            (article.get("duplicate_of"), article.get("duplicate_kind"), article.get("story_id")))


async def _read_topic(settings: Settings, topic: Topic) -> list[Any]:
    records: list[Any] = []
    follower = TopicFollower(settings, topic, records.append)
    await follower.start()
    try:
        await asyncio.wait_for(follower.caught_up.wait(), 120)
    finally:
        await follower.stop()
    return records


@pytest.fixture(scope="module")
async def scaled(stack: Stack) -> AsyncIterator[tuple[Settings, Services]]:
    namespace = f"scale-{uuid.uuid4().hex[:8]}"
    settings = Settings(namespace=namespace)
    await ensure_topics(settings)
    services = Services(settings, REPO_ROOT / "test-output" / namespace,
                        {"NEWSFLOW_NAMESPACE": namespace, "NEWSFLOW_HEARTBEAT_SECONDS": "1"})
    yield settings, services
    services.down()
    await drop_namespace(settings)


async def test_two_enrichment_workers_and_a_killed_linker_decide_as_one(
        scaled: tuple[Settings, Services]) -> None:
    settings, services = scaled
    texts = _articles()
    ids = [f"scale{n:05d}" for n in range(len(texts))]
    output = Output()
    enriched = TopicFollower(settings, Topic.ENRICHED, output.apply)
    await enriched.start()
    for name in ("linking", "enrichment", "extraction"):
        services.start(name)
    services.add("linking")  # a standby: it joins the group, and may be handed the partition
    producer = make_producer(settings)
    await producer.start()
    try:
        raw = topic_name(settings, Topic.RAW)
        for article_id, (title, body) in zip(ids, texts, strict=True):
            submission = RawArticle(article_id=article_id, format="fields", title=title, body=body)
            await producer.send(raw, submission.to_bytes(), key=article_id.encode())
        await producer.flush()
    finally:
        await producer.stop()
    second = services.add("enrichment")  # joins while the first works: a rebalance

    async def linked(share: float) -> bool:
        return len(output.decisions) >= share * len(ids)

    await eventually(lambda: linked(0.5), "half the articles to be linked", timeout=900)
    services.processes[second].kill()  # leaves without a goodbye: its batch is replayed
    await eventually(lambda: linked(0.75), "three quarters to be linked", timeout=900)
    services.processes["linking"].kill()  # the active linker or the standby: either takes over
    services.start("linking")  # and joins again: another hand-over
    await eventually(lambda: linked(1.0), "every article to be linked", timeout=900)
    await enriched.stop()

    # 0 lost, 0 extra, and every copy of a replayed article carries the same decision.
    assert set(output.decisions) == set(ids)
    replayed = {a: d for a, d in output.decisions.items() if len(d) > 1}
    assert all(len(set(copies)) == 1 for copies in replayed.values()), replayed
    decided = {article_id: copies[0] for article_id, copies in output.decisions.items()}

    # The reference: one linker, the same analysed articles, in submission order (one worker,
    # or one process doing everything, would see them so if nothing ran in parallel).
    analysed: dict[str, EnrichedArticle] = {}
    for record in await _read_topic(settings, Topic.ANALYSED):
        article = EnrichedArticle.model_validate_json(record.value)
        analysed.setdefault(article.article_id, article)
    reference_linker = Linker()
    in_order = sorted(ids, key=lambda a: (analysed[a].submitted_at, a))
    reference = {a: reference_linker.linked(analysed[a]) for a in in_order}

    def duplicate_groups(duplicate_of: dict[str, str | None]) -> set[frozenset[str]]:
        groups: dict[str, set[str]] = {}
        for article_id, original in duplicate_of.items():
            if original:
                group = groups.setdefault(original, {original})
                group.add(article_id)
                groups[article_id] = group
        return {frozenset(g) for g in groups.values()}

    ours = duplicate_groups({a: d[0] for a, d in decided.items()})
    theirs = duplicate_groups({a: r.duplicate_of for a, r in reference.items()})
    index = adjusted_rand_index({a: d[2] for a, d in decided.items()},
                                {a: r.story_id for a, r in reference.items()})
    same = sum(1 for a, d in decided.items()
               if d == (reference[a].duplicate_of, reference[a].duplicate_kind, reference[a].story_id))
    print(f"\n{len(ids)} articles, {len(replayed)} replayed, {same} decided exactly as the "
          f"reference; duplicates flagged: "
          f"{sum(1 for d in decided.values() if d[0])} (reference "
          f"{sum(1 for r in reference.values() if r.duplicate_of)}); "
          f"stories {len({d[2] for d in decided.values()})} (reference "
          f"{len({r.story_id for r in reference.values()})}); adjusted Rand index {index:.4f}")
    assert theirs, "the set has duplicates to find"
    assert ours == theirs
    assert index >= 0.95
