"""The alert matcher, construct by construct, on a hand-made index document (expected answers
read off the document by hand); and the constructs it refuses rather than approximate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.alerts.matching import ArticleView, NotExact, SubscriptionQuery, standard_tokens
from shared.contracts.document import to_document
from shared.contracts.messages import Country, EnrichedArticle, Entity, TopicScore
from shared.text.wordforms import stem_text

TITLE = "U.N. envoy Feltman meets officials in Pyongyang"
BODY = "Senior North Korean officials told the envoy that peace talks were possible."


def document(**changes: Any) -> dict[str, Any]:
    article = EnrichedArticle(
        article_id="a1", title=TITLE, body=BODY, submitted_at=datetime(2025, 12, 18, tzinfo=UTC),
        language="en", source={"name": "Reuters"},
        people=[Entity(name="Jeffrey Feltman"), Entity(name="Rhee Chang-yong")],
        organizations=[Entity(name="United Nations")], places=[Entity(name="Pyongyang")],
        countries=[Country(code="KP", name="North Korea")],
        topics=[TopicScore(label="politics", score=0.9),
                TopicScore(label="diplomacy", parent="politics", score=0.8)],
        stems=stem_text(f"{TITLE}\n{BODY}"), title_stems=stem_text(TITLE), **changes)
    return to_document(article)


ARTICLE = ArticleView.of(document())


def matches(query: str | None, filters: dict[str, list[str]] | None = None,
            article: ArticleView = ARTICLE) -> bool:
    return SubscriptionQuery.compile(query, filters).matches(article)


@pytest.mark.parametrize(("query", "expected"), [
    ("talks", True), ("talk", True), ("talking", True),  # word forms, on stems
    ("peace talks", True), ("peace sanctions", False),  # every word
    ('"peace talks"', True), ('"talks peace"', False),  # in order
    ("title:envoy", True), ("title:peace", False), ('title:"envoy feltman"', True),
    ("Feltman OR Guterres", True), ("Guterres OR Tillerson", False),
    ("-sport", True), ("NOT talks", False), ("talks -peace", False), ("--talks", True),
    ("(Guterres OR envoy) Pyongyang", True), ("(Guterres OR Tillerson) Pyongyang", False),
    ('person:"Jeffrey Feltman"', True), ("person:Feltman", True), ("person:Jeffrey", True),
    ('person:"Feltman Jeffrey"', False), ('person:"Rhee Chang-yong"', True),
    ('person:"Feltman Rhee"', False),  # words of two names never run together
    ('org:"U.N."', True), ("org:UN", True), ("place:Pyongyang", True), ("place:Seoul", False),
    ("country:KP", True), ('country:"North Korea"', True), ("country:KR", False),
    ("topic:politics", True), ("topic:diplomacy", True), ("topic:dipl*", True), ("topic:sport", False),
    ("source:reuters", True), ("source:AP", False), ("lang:en", True), ("lang:EN", True),
    ("lang:fr", False),
])
def test_each_construct(query: str, expected: bool) -> None:
    assert matches(query) is expected


def test_facet_filters_are_exact_and_all_required() -> None:
    assert matches(None, {"people": ["Jeffrey Feltman"], "countries": ["KP"]})
    assert not matches(None, {"people": ["Jeffrey Feltman", "Kim Jong Un"]})
    assert not matches("talks", {"people": ["jeffrey feltman"]})  # keywords are case-sensitive


def test_duplicates_never_match() -> None:
    copy = ArticleView.of(document(duplicate_of="a0"))
    assert not matches("talks", article=copy)


@pytest.mark.parametrize("query", ["diplom*", "Pyongyan~", "person:Felt*", "org:Nation~1",
                                   "country:KP*", "source:Reut*", "北朝鮮", '"..."'])
def test_what_cannot_be_evaluated_exactly_is_refused(query: str) -> None:
    with pytest.raises(NotExact):
        SubscriptionQuery.compile(query)


def test_a_subscription_needs_something_to_match_and_known_filters() -> None:
    with pytest.raises(NotExact):
        SubscriptionQuery.compile("  ")
    with pytest.raises(NotExact, match="unknown filter"):
        SubscriptionQuery.compile("talks", {"colour": ["red"]})


def test_tokens_follow_the_standard_tokenizer_on_news_text() -> None:
    assert standard_tokens("U.N. don't 1,000 3.5 Chang-yong a,b") == [
        "u.n", "don't", "1,000", "3.5", "chang", "yong", "a", "b"]
