"""Candidate selection never misses a subscription: on generated subscriptions and articles,
the indexed path finds exactly what checking every subscription finds."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from services.alerts.candidates import SubscriptionIndex
from shared.contracts.document import add_words
from shared.query import ArticleView, SubscriptionQuery
from shared.query.constructs import article_values
from shared.text.wordforms import stem_text

WORDS = ["peace", "talks", "envoy", "missile", "sanctions", "election", "market", "shares",
         "striker", "goal", "nuclear", "border", "minister", "bank"]
PEOPLE = ["Jeffrey Feltman", "Antonio Guterres", "Kim Jong Un"]
COUNTRIES = ["KP", "KR", "US", "GB"]


def article(rng: random.Random, n: int) -> ArticleView:
    words = rng.sample(WORDS, rng.randint(1, 6))
    title = " ".join(words[:2])
    text = f"{title}\n{' '.join(words)}"
    return ArticleView.of(add_words({
        "article_id": f"a{n}", "title": title, "body": " ".join(words),
        "stems": stem_text(text), "title_stems": stem_text(title),
        "people": rng.sample(PEOPLE, rng.randint(0, 2)), "organizations": [], "places": [],
        "country_codes": rng.sample(COUNTRIES, rng.randint(0, 2)), "language": "en",
        "topic_labels": rng.sample(["politics", "sport"], rng.randint(0, 1)), "subtopic_labels": [],
        "source": {"name": rng.choice(["Reuters", "AP"])}, "is_duplicate": False}))


leaf = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS).map(lambda w: f"title:{w}"),
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS)).map(lambda t: f'"{t[0]} {t[1]}"'),
    st.sampled_from(PEOPLE).map(lambda p: f'person:"{p}"'),
    st.sampled_from(COUNTRIES).map(lambda c: f"country:{c}"),
    st.sampled_from(["topic:politics", "topic:spo*", "source:ap", "source:Reu*", "lang:en"]),
    st.sampled_from(WORDS).map(lambda w: f"{w[:2]}*"),
    st.sampled_from(WORDS).map(lambda w: f"title:{w[:3]}*"),
    st.sampled_from(WORDS).map(lambda w: f"{w[:5]}*"),
    st.sampled_from(WORDS).map(lambda w: f"{w[1:]}{w[0]}~"),  # one or two edits away, or none
    st.sampled_from(WORDS).map(lambda w: f"{w[::-1]}~2"),
    st.sampled_from(PEOPLE).map(lambda p: f"person:{p.split()[-1][:-1]}x~1"),
    st.sampled_from(PEOPLE).map(lambda p: f"person:{p.split()[0][:3]}*"),
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS), st.integers(0, 4)).map(
        lambda t: f"{t[0]} NEAR/{t[2]} {t[1][:3]}*"),
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS), st.integers(0, 4)).map(
        lambda t: f'"{t[0]} {t[1]}"~{t[2]}'),
)
queries = st.recursive(leaf, lambda inner: st.one_of(
    st.tuples(inner, inner).map(lambda t: f"({t[0]} OR {t[1]})"),
    st.tuples(inner, inner).map(lambda t: f"{t[0]} {t[1]}"),
    inner.map(lambda q: f"-{q}" if not q.startswith("-") else q)), max_leaves=5)


@settings(max_examples=200, deadline=None)
@given(st.lists(queries, min_size=1, max_size=30), st.integers(0, 2**31))
def test_candidates_never_miss_a_match(subscriptions: list[str], seed: int) -> None:
    rng = random.Random(seed)
    index = SubscriptionIndex()
    for n, query in enumerate(subscriptions):
        index.add(f"s{n}", SubscriptionQuery.compile(query))
    for n in range(20):
        view = article(rng, n)
        assert sorted(index.matches(view)) == index.brute_force(view)


def test_required_keys_prefer_the_rarest_word_and_skip_pure_negations() -> None:
    rarity = {"peac": 0.5, "talk": 0.1, "talks": 0.01}
    # the rarest stem of each form, keyed in its languages: "talk" in English, German and
    # French; Spanish's stemmer keeps "talks"
    talks = {("stem@en", "talk"), ("stem@de", "talk"), ("stem@fr", "talk"), ("stem@es", "talks")}
    assert SubscriptionQuery.compile("peace talks").requirement(rarity) == frozenset(talks)
    assert SubscriptionQuery.compile("peace Lisbon").requirement(rarity) == frozenset({("stem", "lisbon")})
    assert SubscriptionQuery.compile("-talks").requirement(rarity) is None
    assert SubscriptionQuery.compile("talks OR country:KP").requirement(rarity) == frozenset(
        {*talks, ("facet:country_codes", "KP")})
    assert SubscriptionQuery.compile("sanc* OR title:ta*").requirement(rarity) == frozenset(
        {("p4:words", "sanc"), ("p2:words", "ta")})
    assert SubscriptionQuery.compile("sanction*").requirement(rarity) == frozenset({("p5:words", "sanct")})
    assert SubscriptionQuery.compile("flood~1").requirement(rarity) == frozenset(
        {("fz1:words", v) for v in ("flood", "lood", "food", "flod", "floo")})
    # no variants of very long words (bounded keys and cache): such a fuzzy word is always checked
    assert SubscriptionQuery.compile("a" * 31 + "~2").requirement(rarity) is None


def test_removed_and_replaced_subscriptions_stop_matching() -> None:
    index = SubscriptionIndex()
    index.add("s1", SubscriptionQuery.compile("talks"))
    view = ArticleView.of({"stems": "talk", "title_stems": "", "is_duplicate": False})
    assert index.matches(view) == ["s1"] and "talk" in article_values(view, "stem")
    index.add("s1", SubscriptionQuery.compile("missile"))
    assert index.matches(view) == []
    index.remove("s1")
    assert index.candidates(view) == set() and index.by_family == {}


def test_subscriptions_asking_one_query_share_it_until_the_last_one_goes() -> None:
    index = SubscriptionIndex()
    view = ArticleView.of({"stems": "talk", "title_stems": "", "is_duplicate": False})
    index.add("s1", SubscriptionQuery.compile("talks"))
    index.add("s2", SubscriptionQuery.compile("talks"))
    index.add("s3", SubscriptionQuery.compile("talks", {"countries": ["KP"]}))  # filters differ
    assert len(index.queries) == 2 and index.compiled("talks", {}) is index.query_of("s2")
    assert sorted(index.matches(view)) == ["s1", "s2"] and {"s1", "s2"} <= index.candidates(view)
    index.remove("s1")
    assert index.matches(view) == ["s2"]
    index.add("s2", SubscriptionQuery.compile("missile"))
    assert index.matches(view) == [] and index.compiled("talks", {}) is None
    index.remove("s2")
    index.remove("s3")
    assert index.queries == {} and index.by_family == {} and index.certain_by_family == {}
