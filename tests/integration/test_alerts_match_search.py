"""Same answers as search, proven: hypothesis generates queries in the query language (words,
phrases, title:, entities, country/topic/source/lang, OR, AND, NOT, grouping, facet filters)
over a corpus enriched by our linker and indexed in the real Elasticsearch, and for every
query the set of articles the alert matcher matches must equal the set `GET /search` returns.

The corpus is fixed for the run (indexing a new article set per example would cost seconds
each); the queries are drawn from its own vocabulary, entities and facet values, plus values
no article has.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploy.local.stack import Stack
from services.alerts.matching import ArticleView, NotExact, SubscriptionQuery
from services.enrichment.enrich import analyse
from services.extraction.extract import extract_article
from services.linking.link import Linker
from services.search_api.app import create_app
from shared.contracts.document import to_document
from shared.contracts.messages import RawArticle, SourceInfo
from shared.runtime.elasticsearch import make_sync_client
from shared.settings import Settings
from tests.conftest import SEED_000, SEED_004
from tests.integration.test_search import CORPUS

pytestmark = pytest.mark.integration

EXAMPLES = 2000
EXTRA = [
    ("Minister resigns over budget row", "The finance minister of France resigned in Paris on "
     "Thursday after a row over the budget with President Emmanuel Macron, officials said."),
    ("Seoul and Washington hold talks", "South Korea and the United States held security talks "
     "in Seoul on Friday. Secretary of State Rex Tillerson said peace was the goal."),
    ("Guterres urges restraint", "U.N. Secretary-General Antonio Guterres urged restraint on the "
     "Korean peninsula and said sanctions must be enforced by every member state."),
]


@dataclass
class Indexed:
    client: TestClient
    views: dict[str, ArticleView]  # article id → what the matcher reads
    words: list[str]
    phrases: list[str]
    entities: dict[str, list[str]]
    countries: list[str]
    topics: list[str]
    sources: list[str]


def _enriched_documents() -> list[dict[str, Any]]:
    linker = Linker()
    raws = [RawArticle(article_id=f"seed{n}", format="text", content=path.read_text(),
                       source=SourceInfo(name="Wire A"))
            for n, path in enumerate((SEED_000, SEED_004))]
    for n, (title, body) in enumerate(CORPUS + EXTRA):
        raws.append(RawArticle(article_id=f"c{n}", format="fields", title=title, body=body,
                               source=SourceInfo(name="Wire B" if n % 2 else "wire a")))
    # An exact copy: flagged as a duplicate, so neither search nor alerts may return it.
    raws.append(RawArticle(article_id="copy", format="fields", title=CORPUS[0][0], body=CORPUS[0][1]))
    return [to_document(linker.linked(analyse(extract_article(raw)))) for raw in raws]


@pytest.fixture(scope="module")
def indexed(stack: Stack) -> Iterator[Indexed]:
    settings = Settings(namespace=f"alerts-{uuid.uuid4().hex[:8]}")
    documents = _enriched_documents()
    assert any(doc["is_duplicate"] for doc in documents)
    with TestClient(create_app(settings)) as client:  # its start-up creates the index
        es = make_sync_client(settings)
        operations: list[dict[str, Any]] = []
        for doc in documents:
            operations += [{"index": {"_index": settings.index_alias, "_id": doc["article_id"]}}, doc]
        assert not es.bulk(operations=operations, refresh="wait_for")["errors"]
        words = sorted({w.lower() for doc in documents
                        for w in re.findall(r"[A-Za-z]{3,}", f"{doc['title']} {doc['body']}")})
        bodies = [re.findall(r"[A-Za-z]+", doc["body"]) for doc in documents]
        phrases = sorted({" ".join(b[i:i + 2]) for b in bodies for i in range(0, len(b) - 1, 7)})
        entities = {kind: [*sorted({name for doc in documents for name in doc[kind]}), "Nobody Here"]
                    for kind in ("people", "organizations", "places")}
        yield Indexed(
            client, {doc["article_id"]: ArticleView.of(doc) for doc in documents},
            [*words, "zebra"], [*phrases, "peace sanctions"], entities,
            [*sorted({c for doc in documents for c in doc["country_codes"]}), "FR", "BR"],
            [*sorted({t for doc in documents
                      for t in doc["topic_labels"] + doc["subtopic_labels"]}), "weather"],
            ["Wire A", "wire b", "Nobody"])
        indices = es.indices.get(index=f"{settings.index_alias}-v*")
        es.indices.delete(index=",".join(indices.body))
        es.close()


def _query_strategy(corpus: Indexed) -> st.SearchStrategy[str]:
    quoted = lambda values: st.sampled_from(values).map(lambda v: f'"{v}"')  # noqa: E731
    leaf = st.one_of(
        st.sampled_from(corpus.words),
        st.sampled_from(corpus.words).map(lambda w: f"title:{w}"),
        quoted(corpus.phrases),
        quoted(corpus.entities["people"]).map(lambda v: f"person:{v}"),
        quoted(corpus.entities["organizations"]).map(lambda v: f"org:{v}"),
        quoted(corpus.entities["places"]).map(lambda v: f"place:{v}"),
        st.sampled_from(corpus.countries).map(lambda c: f"country:{c}"),
        quoted(corpus.topics).map(lambda t: f"topic:{t}"),
        quoted(corpus.sources).map(lambda s: f"source:{s}"),
        st.sampled_from(["lang:en", "lang:fr", "topic:pol*", "topic:econ*"]),
    )
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda t: f"({t[0]} OR {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"{t[0]} AND {t[1]}"),
        st.tuples(inner, inner).map(lambda t: f"{t[0]} {t[1]}"),
        inner.map(lambda q: f"-{q}" if not q.startswith("-") else f"NOT ({q})"),
    ), max_leaves=5)


def test_the_matcher_matches_what_search_returns(indexed: Indexed) -> None:
    filters = st.one_of(st.just({}), st.sampled_from(indexed.entities["people"]).map(
        lambda p: {"person": [p]}), st.sampled_from(indexed.countries).map(lambda c: {"country": [c]}))
    checked: list[int] = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(query=_query_strategy(indexed), facet=filters)
    def check(query: str, facet: dict[str, list[str]]) -> None:
        names = {"person": "people", "country": "countries"}
        try:
            subscription = SubscriptionQuery.compile(
                query, {names[k]: v for k, v in facet.items()})
        except NotExact:
            return  # refused at subscription time; search may still answer it
        response = indexed.client.get("/search", params={"q": query, "size": 100, **facet})
        assert response.status_code == 200, (query, response.text)
        found = {hit["id"] for hit in response.json()["results"]}
        matched = {aid for aid, view in indexed.views.items() if subscription.matches(view)}
        assert matched == found, f"{query!r} {facet}: matcher-only {matched - found}, " \
                                 f"search-only {found - matched}"
        checked.append(len(found))

    check()
    print(f"{len(checked)} queries checked, 0 mismatches; {sum(1 for n in checked if n)} "
          f"with matches, up to {max(checked, default=0)} articles")
    assert len(checked) >= EXAMPLES * 0.9  # almost none refused: the corpus vocabulary is exact
