"""The query language: what each construct compiles to, and every error with its position."""

from __future__ import annotations

from typing import Any

import pytest

from shared.query import Query, QuerySyntaxError
from shared.query.fields import FIELD_NAMES
from shared.query.syntax import And, Near, Node, Not, Or, Term
from shared.query.syntax import parse as parse_with


def parse(query: str) -> Node:
    return parse_with(query, FIELD_NAMES)


def to_elasticsearch(query: str) -> dict[str, Any]:
    return Query.parse(query).elasticsearch()


def alternatives(clause: dict[str, Any]) -> list[dict[str, Any]]:
    """The clause of each word form of one term (each form filtered to its languages)."""
    if "bool" not in clause:
        return [clause]
    return [a["bool"]["must"][0] for a in clause["bool"]["should"]]


def forms(clause: dict[str, Any]) -> list[str]:
    """The stems each word form of one term asks for."""
    return [a["multi_match"]["query"] for a in alternatives(clause)]


def test_each_form_reads_only_articles_stemmed_in_its_languages() -> None:
    should = to_elasticsearch("Freundschaften")["bool"]["should"]
    english, german = (a["bool"] for a in should)
    # English and French keep "freundschaften", German and Spanish make it "freundschaft";
    # documents without the field were stemmed in English
    assert english["must_not"] == [{"terms": {"stems_language": ["de", "es"]}}]
    assert german["filter"] == [{"terms": {"stems_language": ["de", "es"]}}]


def test_words_are_anded_and_stemmed() -> None:
    query = to_elasticsearch("Lisbon peace")
    queries = [c["multi_match"]["query"] for c in query["bool"]["must"]]
    assert queries == ["lisbon", "peac"]
    assert query["bool"]["must"][0]["multi_match"]["fields"] == ["title_stems^3", "stems"]


@pytest.mark.parametrize(("query", "expected"), [
    # English first, then each other language's form where it differs
    ("Sanctions", ["sanction", "sanctions"]),  # English, German and French stem it; Spanish keeps it
    ("Freundschaften", ["freundschaften", "freundschaft"]),  # German and Spanish take off -en
    ("ratifiera", ["ratifiera", "ratifi", "ratif"]),  # the French future, then the Spanish rule
    ("construirán", ["construirán", "constru"]),  # Spanish
    ('"peace talks"', ["peac talk", "peac talks"]),
])
def test_a_word_matches_its_forms_in_every_language(query: str, expected: list[str]) -> None:
    assert forms(to_elasticsearch(query)) == expected


def test_phrase_or_not_and_grouping() -> None:
    tree = parse('"peace talks" (Seoul OR Pyongyang) -Russia')
    assert isinstance(tree, And)
    phrase, group, negated = tree.children
    assert isinstance(phrase, Term) and phrase.kind == "phrase" and phrase.text == "peace talks"
    assert isinstance(group, Or) and [t.text for t in group.children] == ["Seoul", "Pyongyang"]  # type: ignore[union-attr]
    assert isinstance(negated, Not)
    query = to_elasticsearch('"peace talks" (Seoul | Pyongyang) NOT Russia')
    assert alternatives(query["bool"]["must"][0])[0]["multi_match"] == {
        "query": "peac talk", "type": "phrase", "fields": ["title_stems^3", "stems"]}
    assert query["bool"]["must"][1]["bool"]["minimum_should_match"] == 1
    assert forms(query["bool"]["must_not"][0]) == ["russia", "russi"]


def test_plus_is_must_and_lone_negation_matches_the_rest() -> None:
    assert to_elasticsearch("+sanctions") == to_elasticsearch("sanctions")
    alone = to_elasticsearch("-sport")
    assert alone["bool"]["must"] == [{"match_all": {}}] and alone["bool"]["must_not"]


@pytest.mark.parametrize(("query", "expected"), [
    ('org:"U.N."', {"match_phrase": {"organizations.text": "united nations"}}),
    ("org:UN", {"match_phrase": {"organizations.text": "united nations"}}),
    ('person:"Feltman"', {"match_phrase": {"people.text": "feltman"}}),
    ("place:U.S.", {"match_phrase": {"places.text": "united states"}}),
    ("country:kp", {"term": {"country_codes": "KP"}}),
    ('country:"South Korea"', {"term": {"country_codes": "KR"}}),
    ("country:France", {"term": {"country_codes": "FR"}}),
    ("lang:EN", {"term": {"language": "en"}}),
    ("source:Reuters", {"term": {"source.name": {"value": "reuters", "case_insensitive": True}}}),
    ("topic:Politics", {"bool": {"should": [{"term": {"topic_labels": "politics"}},
                                            {"term": {"subtopic_labels": "politics"}}]}}),
    ("title:Lisbon", {"multi_match": {"query": "lisbon", "fields": ["title_stems"], "operator": "and"}}),
])
def test_fields(query: str, expected: dict[str, object]) -> None:
    assert to_elasticsearch(query) == expected


def test_prefixes_rewrite_over_every_word_with_a_constant_score() -> None:
    assert to_elasticsearch("Diplom*") == {"bool": {"should": [
        {"prefix": {"title_words": {"value": "diplom", "rewrite": "constant_score", "boost": 3.0}}},
        {"prefix": {"words": {"value": "diplom", "rewrite": "constant_score", "boost": 1.0}}}],
        "minimum_should_match": 1}}
    assert to_elasticsearch("title:diplom*") == {"prefix": {"title_words": {
        "value": "diplom", "rewrite": "constant_score", "boost": 3.0}}}


@pytest.mark.parametrize(("query", "edits"), [
    ("Pyongyan~", 2), ("flood~", 1), ("ab~", 0), ("abc~", 1), ("abcde~", 1), ("abcdef~", 2),
    ("Pyongyan~1", 1), ("ab~2", 2), ("floods~0", 0)])
def test_fuzzy_words_carry_their_edits_decided_once(query: str, edits: int) -> None:
    title = to_elasticsearch(f"title:{query}")["fuzzy"]["title_words"]
    assert title["fuzziness"] == edits and title["transpositions"] is True
    assert title["rewrite"] == "constant_score" and title["prefix_length"] == 0


def test_proximity_is_an_unordered_span_near_on_stems() -> None:
    near = to_elasticsearch("title:missile NEAR/3 title:Lisbon")["span_near"]
    assert near["clauses"] == [{"span_term": {"title_stems": "missil"}},
                               {"span_term": {"title_stems": "lisbon"}}]
    assert near["slop"] == 3 and near["in_order"] is False
    assert to_elasticsearch('title:"missile Lisbon"~3')["span_near"]["clauses"] == near["clauses"]
    # one span_near per distinct form: "flood" (English, German, French), "floods" (Spanish)
    both = to_elasticsearch("title:floods NEAR/3 title:Lisbon")["bool"]["should"]
    assert [a["bool"]["must"][0]["span_near"]["clauses"][0] for a in both] == [
        {"span_term": {"title_stems": "flood"}}, {"span_term": {"title_stems": "floods"}}]
    phrase = to_elasticsearch('title:"peace talk*"')["span_near"]
    assert phrase["slop"] == 0 and phrase["in_order"] is True
    assert phrase["clauses"][1] == {"span_field_masking": {"field": "title_stems", "query": {
        "span_multi": {"match": {"prefix": {"title_words": {"value": "talk"}}}}}}}
    tree = parse('"european union" NEAR/5 sanc*')
    assert isinstance(tree, Near) and tree.distance == 5 and tree.right.kind == "prefix"


def test_highlights_skip_negations_and_entity_fields() -> None:
    clauses = Query.parse('talks "peace deal" -war org:UN title:summit sanc*').highlight(["body"])
    assert [next(iter(c["multi_match"].values())) for c in clauses] == [
        "talks", "peace deal", "summit", "sanc"]


@pytest.mark.parametrize(("query", "reason", "position"), [
    ("", "the query is empty", 0),
    ("   ", "the query is empty", 0),
    ("(sanctions", "'(' is never closed", 0),
    ("sanctions)", "unbalanced ')'", 9),
    ("()", "empty parentheses", 0),
    ('"peace talks', "unterminated quote", 0),
    ('""', "empty phrase", 0),
    ("AND talks", "AND needs something before it", 0),
    ("talks AND", "AND needs something after it", 6),
    ("talks OR", "OR needs something after it", 6),
    ("OR talks", "OR needs something before it", 0),
    ("talks AND OR summit", "AND needs something after it", 6),
    ("NOT", "NOT", 0),
    ("talks NOT", "'NOT' needs something after it", 6),
    ("foo:bar", "unknown field 'foo'", 0),
    ("title:", "'title:' needs a value", 6),
    ("title: talks", "'title:' needs a value", 6),
    ("org:(UN)", "'org:' needs a word or a \"phrase\"", 0),
    ("talk~3", "fuzziness is at most 2", 0),
    ("ta~lk", "'~' goes at the end of a word", 0),
    ("*", "at least two letters before one '*'", 0),
    ("a*", "at least two letters before one '*'", 0),
    ("ta*lk", "'*' only goes at the end of a word", 0),
    ("ta*~", "either a prefix (*) or fuzzy (~)", 0),
    ('"peace talks *"', "'*' goes right after a word", 0),
    ('"pea* talks"', "only the last word can end in '*'", 0),
    ('"peace talks"~', "needs a distance", 13),
    ('"peace talks"~51', "at most 50 words", 13),
    ("peace NEAR talks", "NEAR needs a distance", 6),
    ("peace NEAR/3", "NEAR needs a word or a phrase after it", 6),
    ("NEAR/3 talks", "NEAR/3 needs something before it", 0),
    ("a NEAR/3 b NEAR/3 c", "NEAR joins two terms", 11),
    ("(a OR b) NEAR/3 c", "NEAR joins two words, prefixes or phrases", 9),
    ("title:a NEAR/3 b", "same field", 8),
    ("peace NEAR/3 talks~", "fuzzy word cannot go inside NEAR", 13),
    ("person:Kim NEAR/3 person:Un", "proximity is for text", 11),
    ("u.s*", "a prefix is one word", 0),
    ("country:KP*", "'country:' takes an exact value", 8),
    ("lang:e~", "'lang:' takes an exact value", 5),
    ("country:Narnia", "unknown country 'Narnia'", 8),
    ("talks ...", "'...' has no letters or digits", 6),
])
def test_errors_say_what_and_where(query: str, reason: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as error:
        to_elasticsearch(query)
    assert reason in error.value.reason
    assert error.value.position == position
