"""Same answers as search, proven: hypothesis generates queries in the query language (words,
phrases, prefixes, phrase prefixes, fuzzy words, proximity and NEAR, title:, entities,
country/topic/source/lang, OR, AND, NOT, grouping, facet filters) over a corpus enriched by our
linker and indexed in the real Elasticsearch, and for every query the set of articles the alert
matcher matches must equal the set `GET /search` returns (every page of it).

The corpus is fixed for the run (indexing a new article set per example would cost seconds
each); the queries are drawn from its own vocabulary, entities and facet values, plus values
no article has. The news includes German, French and Spanish wire stories (tests/data), so
that every language's word forms are compared too. Beside the news, GENERATED articles hold
1,320 distinct words starting "zq" (660 of them "zqa"), so that a prefix has more than 1,000
expansions and another more than 50, and 60 distinct spellings one edit from "blorptan":
Elasticsearch's default caps (50 terms for a phrase prefix, 50 for a fuzzy word) would lose
articles there.
"""

from __future__ import annotations

import json
import random
import re
import string
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploy.local.stack import Stack
from services.enrichment.enrich import analyse
from services.extraction.extract import extract_article
from services.linking.link import Linker
from services.search_api.app import create_app
from shared.contracts.document import to_document
from shared.contracts.messages import RawArticle, SourceInfo
from shared.query import ArticleView, NotExact, QuerySyntaxError, SubscriptionQuery
from shared.runtime.elasticsearch import make_sync_client
from shared.settings import Settings
from tests.conftest import SEED_000, SEED_004
from tests.integration.test_search import CORPUS

pytestmark = pytest.mark.integration

EXAMPLES = 2000
DATA = Path(__file__).resolve().parent.parent / "data"
GENERATED = 60


def _generated_words() -> tuple[list[list[str]], list[str]]:
    """Per generated article: 22 distinct zq-words of its own; and one blorptan spelling each."""
    rng = random.Random(22)
    pool: list[str] = []
    seen: set[str] = set()
    while len(pool) < GENERATED * 22:
        word = "zq" + rng.choice("ab") + "".join(rng.choices(string.ascii_lowercase, k=4))
        if word not in seen:
            seen.add(word)
            pool.append(word)
    spellings = sorted({"blorptan"[:i] + c + "blorptan"[i + 1:] for i in range(8)
                        for c in string.ascii_lowercase if c != "blorptan"[i]})
    return [pool[n * 22:(n + 1) * 22] for n in range(GENERATED)], rng.sample(spellings, GENERATED)


ZQ_WORDS, BLORPTANS = _generated_words()
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
    windows: list[tuple[str, str]]  # two words of one body, 1, 3 or 6 positions apart


def _enriched_documents() -> list[dict[str, Any]]:
    linker = Linker()
    raws = [RawArticle(article_id=f"seed{n}", format="text", content=path.read_text(),
                       source=SourceInfo(name="Wire A"))
            for n, path in enumerate((SEED_000, SEED_004))]
    for n, (title, body) in enumerate(CORPUS + EXTRA):
        raws.append(RawArticle(article_id=f"c{n}", format="fields", title=title, body=body,
                               source=SourceInfo(name="Wire B" if n % 2 else "wire a")))
    for language in ("de", "fr", "es"):
        with (DATA / f"multilingual_{language}.jsonl").open() as lines:
            for n, line in enumerate(lines):
                story = json.loads(line)
                raws.append(RawArticle(article_id=f"{language}{n}", format="fields",
                                       title=story["title"], body=story["body"],
                                       source=SourceInfo(name="Wire B")))
    # An exact copy: flagged as a duplicate, so neither search nor alerts may return it.
    raws.append(RawArticle(article_id="copy", format="fields", title=CORPUS[0][0], body=CORPUS[0][1]))
    for n, (zq_words, spelling) in enumerate(zip(ZQ_WORDS, BLORPTANS, strict=True)):
        raws.append(RawArticle(
            article_id=f"g{n}", format="fields", title=f"Field report {n} from the {spelling} valley",
            body=f"The report {' '.join(zq_words[:11])} was filed. Officials named {spelling} "
                 f"and {' '.join(zq_words[11:])} in the second part of the report.",
            source=SourceInfo(name="Wire G")))
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
        news = [doc for doc in documents if not doc["article_id"].startswith("g")]
        words = sorted({w.lower() for doc in news
                        for w in re.findall(r"[^\W\d_]{3,}", f"{doc['title']} {doc['body']}")})
        bodies = [re.findall(r"[^\W\d_]+", doc["body"]) for doc in documents]
        phrases = sorted({" ".join(b[i:i + 2]) for b in bodies for i in range(0, len(b) - 1, 7)})
        windows = sorted({(b[i], b[i + gap]) for b in bodies for i in range(0, len(b) - 6, 5)
                          for gap in (1, 3, 6)})
        entities = {kind: [*sorted({name for doc in documents for name in doc[kind]}), "Nobody Here"]
                    for kind in ("people", "organizations", "places")}
        yield Indexed(
            client, {doc["article_id"]: ArticleView.of(doc) for doc in documents},
            [*words, "zebra"], [*phrases, "peace sanctions"], entities,
            [*sorted({c for doc in documents for c in doc["country_codes"]}), "FR", "BR"],
            [*sorted({t for doc in documents
                      for t in doc["topic_labels"] + doc["subtopic_labels"]}), "weather"],
            ["Wire A", "wire b", "Nobody"], windows)
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
        st.sampled_from(["lang:en", "lang:fr", "lang:de", "lang:es", "topic:pol*", "topic:econ*",
                         "source:wir*",
                         "zq*", "zqa*", "zqb*", "title:fiel*", '"the report zq*"', '"report zqa*"',
                         "blorptan~1", "blorptan~", "blorptan~2", "title:blorptan~", "blorptn~1"]),
        # prefixes of the corpus's words, of two letters up to the whole word
        st.tuples(st.sampled_from(corpus.words), st.integers(2, 8)).map(lambda t: f"{t[0][:t[1]]}*"),
        st.tuples(st.sampled_from(corpus.words), st.integers(2, 5)).map(
            lambda t: f"title:{t[0][:t[1]]}*"),
        quoted(corpus.phrases).map(lambda p: p[:-2] + '*"' if len(p.split()[-1]) > 3 else p),
        # fuzzy words: the corpus's words with a letter dropped, swapped or changed
        st.tuples(st.sampled_from(corpus.words), st.integers(0, 2), st.sampled_from(["", "1", "2"])).map(
            lambda t: f"{_misspell(t[0], t[1])}~{t[2]}"),
        st.sampled_from(corpus.entities["people"]).map(lambda v: f"person:{v.split()[-1]}~"),
        st.sampled_from(corpus.entities["organizations"]).map(lambda v: f"org:{v[:3]}*"),
        # proximity: two words of one body, 1, 3 or 6 apart, within 0 to 6 others
        st.tuples(st.sampled_from(corpus.windows), st.integers(0, 6)).map(
            lambda t: f'"{t[0][0]} {t[0][1]}"~{t[1]}'),
        st.tuples(st.sampled_from(corpus.windows), st.integers(0, 6)).map(
            lambda t: f"{t[0][1]} NEAR/{t[1]} {t[0][0]}"),
        st.tuples(st.sampled_from(corpus.windows), st.integers(0, 6)).map(
            lambda t: f"{t[0][0]} NEAR/{t[1]} {t[0][1][:3]}*"),
        st.tuples(quoted(corpus.phrases), st.sampled_from(corpus.words), st.integers(0, 6)).map(
            lambda t: f"{t[0]} NEAR/{t[2]} {t[1]}"),
    )
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda t: f"({t[0]} OR {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"{t[0]} AND {t[1]}"),
        st.tuples(inner, inner).map(lambda t: f"{t[0]} {t[1]}"),
        inner.map(lambda q: f"-{q}" if not q.startswith("-") else f"NOT ({q})"),
    ), max_leaves=5)


def _misspell(word: str, how: int) -> str:
    middle = len(word) // 2
    if how == 0:
        return word[:middle] + word[middle + 1:]
    if how == 1 and len(word) > 2:
        return word[:middle - 1] + word[middle] + word[middle - 1] + word[middle + 1:]
    return word[:middle] + ("x" if word[middle:middle + 1] != "x" else "y") + word[middle + 1:]


def _search_all(client: TestClient, params: dict[str, Any]) -> set[str]:
    """Every page of a search: a negation can match more than one page's 100 articles."""
    found: set[str] = set()
    cursor: str | None = None
    while True:
        response = client.get("/search", params={**params, "size": 100,
                                                 **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, (params, response.text)
        body = response.json()
        found |= {hit["id"] for hit in body["results"]}
        cursor = body["next_cursor"]
        if not cursor:
            return found


def test_prefixes_and_fuzzy_words_find_every_article_past_the_default_caps(indexed: Indexed) -> None:
    generated = {f"g{n}" for n in range(GENERATED)}
    with_zqa = {f"g{n}" for n, words in enumerate(ZQ_WORDS) if any(w.startswith("zqa") for w in words)}
    assert len({w for words in ZQ_WORDS for w in words}) > 1000
    assert len({w for words in ZQ_WORDS for w in words if w.startswith("zqa")}) > 50
    for query, expected in [("zq*", generated), ("zqa*", with_zqa), ('"the report zq*"', generated),
                            ('"report zqa*"', {f"g{n}" for n, words in enumerate(ZQ_WORDS)
                                               if words[0].startswith("zqa")}),
                            ("blorptan~1", generated), ("title:blorptan~", generated),
                            ("officials NEAR/0 blorptan~1", set())]:
        if "NEAR" in query:  # a fuzzy word inside NEAR is refused, by search and by alerts
            assert indexed.client.get("/search", params={"q": query}).status_code == 400
            continue
        assert _search_all(indexed.client, {"q": query}) == expected, query
        subscription = SubscriptionQuery.compile(query)
        assert {aid for aid, view in indexed.views.items() if subscription.matches(view)} == expected


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
        except QuerySyntaxError:  # refused by both (a fuzzy word inside NEAR, say)
            assert indexed.client.get("/search", params={"q": query}).status_code == 400
            return
        found = _search_all(indexed.client, {"q": query, **facet})
        matched = {aid for aid, view in indexed.views.items() if subscription.matches(view)}
        assert matched == found, f"{query!r} {facet}: matcher-only {matched - found}, " \
                                 f"search-only {found - matched}"
        checked.append(len(found))

    check()
    print(f"{len(checked)} queries checked, 0 mismatches; {sum(1 for n in checked if n)} "
          f"with matches, up to {max(checked, default=0)} articles")
    assert len(checked) >= EXAMPLES * 0.9  # almost none refused: the corpus vocabulary is exact
