"""Candidate selection never misses a subscription: on generated subscriptions and articles,
the indexed path finds exactly what checking every subscription finds."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from services.alerts.candidates import SubscriptionIndex, article_keys, requirement
from services.alerts.matching import ArticleView, SubscriptionQuery
from shared.text.wordforms import stem_text

WORDS = ["peace", "talks", "envoy", "missile", "sanctions", "election", "market", "shares",
         "striker", "goal", "nuclear", "border", "minister", "bank"]
PEOPLE = ["Jeffrey Feltman", "Antonio Guterres", "Kim Jong Un"]
COUNTRIES = ["KP", "KR", "US", "GB"]


def article(rng: random.Random, n: int) -> ArticleView:
    words = rng.sample(WORDS, rng.randint(1, 6))
    title = " ".join(words[:2])
    text = f"{title}\n{' '.join(words)}"
    return ArticleView.of({
        "article_id": f"a{n}", "title": title, "stems": stem_text(text), "title_stems": stem_text(title),
        "people": rng.sample(PEOPLE, rng.randint(0, 2)), "organizations": [], "places": [],
        "country_codes": rng.sample(COUNTRIES, rng.randint(0, 2)), "language": "en",
        "topic_labels": rng.sample(["politics", "sport"], rng.randint(0, 1)), "subtopic_labels": [],
        "source": {"name": rng.choice(["Reuters", "AP"])}, "is_duplicate": False})


leaf = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS).map(lambda w: f"title:{w}"),
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS)).map(lambda t: f'"{t[0]} {t[1]}"'),
    st.sampled_from(PEOPLE).map(lambda p: f'person:"{p}"'),
    st.sampled_from(COUNTRIES).map(lambda c: f"country:{c}"),
    st.sampled_from(["topic:politics", "topic:spo*", "source:ap", "lang:en"]),
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
    rarity = {"peac": 0.5, "talk": 0.1}
    root = SubscriptionQuery.compile("peace talks").root
    assert root is not None and requirement(root, rarity) == frozenset({("stem", "talk")})
    negation = SubscriptionQuery.compile("-talks").root
    assert negation is not None and requirement(negation, rarity) is None
    either = SubscriptionQuery.compile("talks OR country:KP").root
    assert either is not None and requirement(either, rarity) == frozenset({("stem", "talk"),
                                                                             ("facet:countries", "KP")})


def test_removed_and_replaced_subscriptions_stop_matching() -> None:
    index = SubscriptionIndex()
    index.add("s1", SubscriptionQuery.compile("talks"))
    view = ArticleView.of({"stems": "talk", "title_stems": "", "is_duplicate": False})
    assert index.matches(view) == ["s1"] and ("stem", "talk") in article_keys(view)
    index.add("s1", SubscriptionQuery.compile("missile"))
    assert index.matches(view) == []
    index.remove("s1")
    assert index.candidates(view) == set()
