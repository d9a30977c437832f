"""The alert matcher, construct by construct, on a hand-made index document (expected answers
read off the document by hand); and the constructs it refuses rather than approximate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.contracts.document import to_document
from shared.contracts.messages import Country, EnrichedArticle, Entity, TopicScore
from shared.query import ArticleView, NotExact, SubscriptionQuery
from shared.query.article import standard_tokens
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
    # prefixes, on the words as written: "officials", "officers" would both start "offic"
    ("offic*", True), ("Pyong*", True), ("title:offic*", True), ("title:peac*", False),
    ("talkin*", False), ('"peace tal*"', True), ('"peace tar*"', False),
    ("person:Felt*", True), ('person:"Jeffrey Fel*"', True), ('person:"Feltman Rh*"', False),
    ("source:Reut*", True), ("topic:dipl*", True),
    # fuzzy words: AUTO is 2 edits from 6 letters, 1 from 3; a swap is one edit
    ("Pyongyan~", True), ("Pyongjang~", True), ("Pyonyang~1", True), ("Pyonjan~1", False),
    ("envyo~1", True), ("envyo~0", False), ("evnoy~1", True), ("talsk~", True),
    ("person:Feltmann~", True), ("org:Nation~1", True), ("org:Natoins~1", True), ("org:Nat~1", False),
    # proximity, on stems, in any order; the window counts the words between
    ('"officials envoy"~2', True), ('"officials envoy"~1', False), ("envoy NEAR/2 officials", True),
    ("envoy NEAR/1 officials", False), ('"talks peace"~0', True), ('"peace possible"~2', True),
    ('"peace possible"~1', False), ("talks NEAR/0 possi*", False), ("talks NEAR/1 possi*", True),
    ('"peace talks" NEAR/1 envoy', True), ('"peace talks" NEAR/0 envoy', False),
    ('title:"meets Feltman"~0', True), ('title:"officials talks"~20', False),
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


@pytest.mark.parametrize("query", ["北朝鮮", "title:北朝鮮*", "person:北朝鮮~"])
def test_scripts_the_tokenizer_cuts_into_characters_are_refused(query: str) -> None:
    with pytest.raises(NotExact):
        SubscriptionQuery.compile(query)


@pytest.mark.parametrize(("query", "field", "terms"), [
    ("offic* peace", "title", ("officials",)),
    ("peace offic*", "text", ("peace",)),
    ("title:envoy", "title", ("envoy",)),
    ("Pyongyan~", "title", ("pyongyang",)),
    ("envoy NEAR/2 officials", "title", ("envoy feltman meets officials",)),
    ("told NEAR/1 envoy", "text", ("told the envoy",)),
    ("person:Felt*", "people", ("Jeffrey Feltman",)),
    ("country:KP", "country", ("KP",)),
])
def test_each_match_says_which_words_matched_and_where(query: str, field: str,
                                                       terms: tuple[str, ...]) -> None:
    found = SubscriptionQuery.compile(query).explain(ARTICLE)
    assert any(e.field == field and e.terms == terms for e in found), found


def test_negated_terms_explain_nothing() -> None:
    assert [e.terms for e in SubscriptionQuery.compile("envoy -sport").explain(ARTICLE)] == [("envoy",)]


def test_a_subscription_needs_something_to_match_and_known_filters() -> None:
    with pytest.raises(NotExact):
        SubscriptionQuery.compile("  ")
    with pytest.raises(NotExact, match="unknown filter"):
        SubscriptionQuery.compile("talks", {"colour": ["red"]})


def test_tokens_follow_the_standard_tokenizer_on_news_text() -> None:
    assert standard_tokens("U.N. don't 1,000 3.5 Chang-yong a,b") == [
        "u.n", "don't", "1,000", "3.5", "chang", "yong", "a", "b"]
