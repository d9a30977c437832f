"""The search API over a small corpus written for these tests (plus the seeds)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from deploy.local.stack import Stack
from shared.contracts.document import MAPPINGS, to_document
from shared.contracts.messages import EnrichedArticle
from shared.runtime.elasticsearch import ensure_index, make_client, reindex
from shared.settings import Settings
from tests.stack import Pipeline

pytestmark = pytest.mark.integration

CORPUS = [
    ("EU tightens sanctions on Moscow",
     "The European Union agreed new sanctions against Russia on Monday. Ministers in Brussels "
     "said the measures target banks and energy firms."),
    ("Peace talks resume in Geneva",
     "Peace talks between the two sides resumed in Geneva on Tuesday, diplomats said, after a "
     "month-long pause. The United Nations is mediating."),
    ("No end in sight",
     "There will be no talks this year, officials said, and peace remains distant after the "
     "latest clashes on the border."),
    ("Envoy arrives in Pyongyang",
     "The U.N. envoy arrived in Pyongyang on Wednesday for a three-day visit. North Korea's "
     "foreign ministry welcomed the mission."),
    ("Striker scores twice in cup final",
     "The striker scored two goals as the club won the cup final in London on Saturday, "
     "the manager said after the match."),
] + [
    (f"Market report number {n}",
     f"Shares in London rose on day {n} as investors bought bank stocks after quarterly profits "
     "beat forecasts, traders said.")
    for n in range(1, 12)
]


@dataclass
class Corpus:
    source: str
    ids: dict[str, str]  # title → article id

    def params(self, **more: Any) -> dict[str, Any]:
        return {"source": self.source, "size": 50, **more}


@pytest.fixture(scope="module")
async def corpus(pipeline: Pipeline) -> AsyncIterator[Corpus]:
    source = f"corpus-{uuid.uuid4().hex[:8]}"
    ids = {}
    for title, body in CORPUS:
        ids[title] = await pipeline.submit({"format": "fields", "title": title, "body": body,
                                            "source": {"name": source}})
    for article_id in ids.values():
        await pipeline.wait_for_article(article_id)
    yield Corpus(source, ids)


async def _titles(pipeline: Pipeline, corpus: Corpus, **params: Any) -> set[str]:
    response = await pipeline.search.get("/search", params=corpus.params(**params))
    assert response.status_code == 200, response.text
    return {hit["title"] for hit in response.json()["results"]}


async def test_word_forms_match(pipeline: Pipeline, corpus: Corpus) -> None:
    assert await _titles(pipeline, corpus, q="sanction") == {"EU tightens sanctions on Moscow"}
    assert await _titles(pipeline, corpus, q="tightening sanctions") == \
        {"EU tightens sanctions on Moscow"}


async def test_phrases_versus_words(pipeline: Pipeline, corpus: Corpus) -> None:
    words = await _titles(pipeline, corpus, q="peace talks")
    phrase = await _titles(pipeline, corpus, q='"peace talks"')
    assert words == {"Peace talks resume in Geneva", "No end in sight"}
    assert phrase == {"Peace talks resume in Geneva"}


async def test_boolean_operators(pipeline: Pipeline, corpus: Corpus) -> None:
    assert await _titles(pipeline, corpus, q="Geneva OR Pyongyang") == {
        "Peace talks resume in Geneva", "Envoy arrives in Pyongyang"}
    assert await _titles(pipeline, corpus, q="peace -Geneva") == {"No end in sight"}
    assert await _titles(pipeline, corpus, q="(peace OR envoy) AND NOT Geneva") == {
        "No end in sight", "Envoy arrives in Pyongyang"}


async def test_canonical_entities(pipeline: Pipeline, corpus: Corpus) -> None:
    found = await _titles(pipeline, corpus, q='org:"U.N."')
    assert "Envoy arrives in Pyongyang" in found  # written "U.N.", indexed as United Nations
    assert "Peace talks resume in Geneva" in found  # written "United Nations"
    assert await _titles(pipeline, corpus, q="country:KP") == {"Envoy arrives in Pyongyang"}


async def test_filters_and_facets(pipeline: Pipeline, corpus: Corpus) -> None:
    response = await pipeline.search.get("/search", params=corpus.params(q="London"))
    body = response.json()
    assert body["total"] == 12
    facets = body["facets"]
    assert {"value": "GB", "count": 12} in facets["countries"]
    topics = {bucket["value"] for bucket in facets["topics"]}
    assert {"sport", "economy, business and finance"} <= topics
    assert facets["source"] == [{"value": corpus.source, "count": 12}]
    sport = await pipeline.search.get("/search", params=corpus.params(q="London", topic="sport"))
    sport_body = sport.json()
    assert [hit["title"] for hit in sport_body["results"]] == ["Striker scores twice in cup final"]
    # The topic facet still counts the other topics under the other filters (multi-select).
    assert {"sport", "economy, business and finance"} <= {
        b["value"] for b in sport_body["facets"]["topics"]}
    english = await _titles(pipeline, corpus, q="London", lang="en", country="GB")
    assert len(english) == 12
    assert await _titles(pipeline, corpus, q="London", lang="fr") == set()
    assert await _titles(pipeline, corpus, q="London", **{"from": "now+1d"}) == set()
    assert len(await _titles(pipeline, corpus, q="London", **{"from": "now-1d"})) == 12


async def test_cursor_pages_have_no_gaps_or_repeats(pipeline: Pipeline, corpus: Corpus) -> None:
    seen: list[str] = []
    params = corpus.params(q="shares", size=4, sort="date")
    response = await pipeline.search.get("/search", params=params)
    pages = 0
    while True:
        body = response.json()
        assert response.status_code == 200, body
        seen += [hit["id"] for hit in body["results"]]
        pages += 1
        if not body["next_cursor"]:
            break
        response = await pipeline.search.get("/search",
                                             params={**params, "cursor": body["next_cursor"]})
    expected = {i for title, i in corpus.ids.items() if title.startswith("Market report")}
    assert pages >= 3
    assert len(seen) == len(set(seen)) == len(expected) and set(seen) == expected


async def test_invalid_queries_are_400_with_position(pipeline: Pipeline) -> None:
    response = await pipeline.search.get("/search", params={"q": 'sanctions AND ("peace'})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_query" and error["details"]["position"] == 15
    assert "quote" in error["message"]
    bad_date = await pipeline.search.get("/search", params={"from": "yesterday"})
    assert bad_date.status_code == 400 and bad_date.json()["error"]["code"] == "bad_date"
    bad_cursor = await pipeline.search.get("/search", params={"cursor": "nope"})
    assert bad_cursor.status_code == 400


async def test_related_and_story_of_the_seeds(
    pipeline: Pipeline, seed_000: str, seed_004: str
) -> None:
    first = await pipeline.submit({"format": "text", "content": seed_000})
    second = await pipeline.submit({"format": "text", "content": seed_004})
    article = await pipeline.wait_for_article(first)
    await pipeline.wait_for_article(second)
    related = (await pipeline.search.get(f"/articles/{first}/related")).json()
    assert second in [hit["id"] for hit in related["results"]]
    assert related["results"][0]["same_story"] is True
    story = (await pipeline.search.get(f"/stories/{article['story_id']}")).json()
    assert {first, second} <= {a["id"] for a in story["articles"]}
    missing = await pipeline.search.get("/stories/s-nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_suggest_completes_and_tolerates_typos(pipeline: Pipeline, corpus: Corpus,
                                                     seed_004: str) -> None:
    await pipeline.wait_for_article(await pipeline.submit({"format": "text", "content": seed_004}))
    exact = (await pipeline.search.get("/suggest", params={"prefix": "feltm"})).json()
    assert "Jeffrey Feltman" in [s["text"] for s in exact["suggestions"]]
    typo = (await pipeline.search.get("/suggest", params={"prefix": "tilerson"})).json()
    assert "Rex Tillerson" in [s["text"] for s in typo["suggestions"]]


async def test_reindex_swaps_the_alias_without_losing_documents(pipeline: Pipeline,
                                                                corpus: Corpus) -> None:
    """`newsflow reindex` while the search API keeps answering."""
    import os
    import subprocess
    import sys

    before = (await pipeline.search.get("/search", params=corpus.params())).json()["total"]
    env = {**os.environ, "NEWSFLOW_NAMESPACE": pipeline.settings.namespace}
    result = subprocess.run([sys.executable, "-m", "services.admin", "reindex"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "now points to" in result.stdout and "-v2" in result.stdout
    after = (await pipeline.search.get("/search", params=corpus.params())).json()["total"]
    assert after == before == len(CORPUS)
    # New articles flow into the new version.
    article_id = await pipeline.submit({"format": "fields", "title": "After the reindex",
                                        "body": "A story indexed once the alias had moved on.",
                                        "source": {"name": corpus.source}})
    article = await pipeline.wait_for_article(article_id)
    assert article["title"] == "After the reindex"


async def test_an_index_from_before_the_words_fields_upgrades_and_reindex_fills_them(
        stack: Stack) -> None:
    """Prefixes and fuzzy words match the `words` fields; an index made before them takes the
    new mapping at start-up (adding fields only) and `reindex` computes them for old documents."""
    settings = Settings(namespace=f"upgrade-{uuid.uuid4().hex[:8]}")
    old_fields = {k: v for k, v in MAPPINGS["properties"].items() if k not in ("words", "title_words")}
    doc = to_document(EnrichedArticle(article_id="old1", title="Sanctions tightened", body="By the EU.",
                                      submitted_at=datetime.now(UTC), stems="sanction tighten by the eu",
                                      title_stems="sanction tighten"))
    old_doc = {k: v for k, v in doc.items() if k not in ("words", "title_words")}
    es = make_client(settings)
    try:
        await es.indices.create(index=f"{settings.index_alias}-v1", aliases={settings.index_alias: {}},
                                mappings={"dynamic": False, "properties": old_fields})
        await es.index(index=settings.index_alias, id="old1", document=old_doc, refresh=True)
        await ensure_index(es, settings)  # the start-up of every index user: must not fail
        prefix = {"prefix": {"words": {"value": "sanc"}}}
        assert (await es.count(index=settings.index_alias, query=prefix))["count"] == 0
        await reindex(es, settings)
        assert (await es.count(index=settings.index_alias, query=prefix))["count"] == 1
    finally:
        made = await es.indices.get(index=f"{settings.index_alias}-v*")
        await es.indices.delete(index=",".join(made.body))
        await es.close()


async def test_a_cached_first_page_equals_a_fresh_one_also_right_after_a_refresh(pipeline: Pipeline) -> None:
    """The API answers a repeated first page from its cache; the moment a refresh makes a new
    matching article visible, the same request finds it (no stale answer, not even briefly)."""
    marker = "zq" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:10])

    def text(n: int) -> dict[str, Any]:
        words = " ".join("zq" + uuid.uuid4().hex[:8].translate(str.maketrans("0123456789", "ghijklmnop"))
                         for _ in range(12))
        return {"format": "text", "source": {"name": "tests"},
                "content": f"Report {n} on {marker}\nThe {marker} report number {n}: {words}."}

    def ids(answer: dict[str, Any]) -> list[str]:
        return [r["id"] for r in answer["results"]]

    first = await pipeline.submit(text(1))
    await pipeline.wait_for_article(first)
    fresh = (await pipeline.search.get("/search", params={"q": marker})).json()
    again = (await pipeline.search.get("/search", params={"q": marker})).json()
    assert ids(fresh) == [first] and {k: v for k, v in again.items() if k != "took_ms"} == \
        {k: v for k, v in fresh.items() if k != "took_ms"}
    metrics = (await pipeline.search.get("/metrics/")).text
    assert 'newsflow_search_cache_total{result="hit"}' in metrics
    second = await pipeline.submit(text(2))
    # Not forcing a refresh: the index's own refresh makes it visible; the API must see it then.
    await pipeline.wait_for_article(second)
    after = (await pipeline.search.get("/search", params={"q": marker})).json()
    assert sorted(ids(after)) == sorted([first, second]) and after["total"] == 2
