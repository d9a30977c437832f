"""The query language: what each construct compiles to, and every error with its position."""

from __future__ import annotations

import pytest

from services.search_api.query_language import (
    And,
    Not,
    Or,
    QuerySyntaxError,
    Term,
    highlight_terms,
    parse,
    to_elasticsearch,
)


def test_words_are_anded_and_stemmed() -> None:
    query = to_elasticsearch("Sanctions tightened")
    queries = [c["multi_match"]["query"] for c in query["bool"]["must"]]
    assert queries == ["sanction", "tighten"]
    assert query["bool"]["must"][0]["multi_match"]["fields"] == ["title_stems^3", "stems"]


def test_phrase_or_not_and_grouping() -> None:
    tree = parse('"peace talks" (Seoul OR Pyongyang) -Russia')
    assert isinstance(tree, And)
    phrase, group, negated = tree.children
    assert isinstance(phrase, Term) and phrase.kind == "phrase" and phrase.text == "peace talks"
    assert isinstance(group, Or) and [t.text for t in group.children] == ["Seoul", "Pyongyang"]  # type: ignore[union-attr]
    assert isinstance(negated, Not)
    query = to_elasticsearch('"peace talks" (Seoul | Pyongyang) NOT Russia')
    assert query["bool"]["must"][0]["multi_match"] == {
        "query": "peac talk", "type": "phrase", "fields": ["title_stems^3", "stems"]}
    assert query["bool"]["must"][1]["bool"]["minimum_should_match"] == 1
    assert query["bool"]["must_not"][0]["multi_match"]["query"] == "russia"


def test_plus_is_must_and_lone_negation_matches_the_rest() -> None:
    assert to_elasticsearch("+sanctions") == to_elasticsearch("sanctions")
    alone = to_elasticsearch("-sport")
    assert alone["bool"]["must"] == [{"match_all": {}}] and alone["bool"]["must_not"]


@pytest.mark.parametrize(("query", "expected"), [
    ('org:"U.N."', {"match_phrase": {"organizations.text": "United Nations"}}),
    ("org:UN", {"match_phrase": {"organizations.text": "United Nations"}}),
    ('person:"Feltman"', {"match_phrase": {"people.text": "Feltman"}}),
    ("place:U.S.", {"match_phrase": {"places.text": "United States"}}),
    ("country:kp", {"term": {"country_codes": "KP"}}),
    ('country:"South Korea"', {"term": {"country_codes": "KR"}}),
    ("country:France", {"term": {"country_codes": "FR"}}),
    ("lang:EN", {"term": {"language": "en"}}),
    ("source:Reuters", {"term": {"source.name": {"value": "Reuters", "case_insensitive": True}}}),
    ("topic:Politics", {"bool": {"should": [{"term": {"topic_labels": "politics"}},
                                            {"term": {"subtopic_labels": "politics"}}]}}),
    ("title:talks", {"multi_match": {"query": "talk", "fields": ["title_stems"], "operator": "and"}}),
])
def test_fields(query: str, expected: dict[str, object]) -> None:
    assert to_elasticsearch(query) == expected


def test_prefix_and_fuzzy_use_the_words_as_written() -> None:
    assert to_elasticsearch("diplom*") == {"multi_match": {
        "query": "diplom", "type": "phrase_prefix", "fields": ["title^3", "body"]}}
    assert to_elasticsearch("Pyongyan~1")["multi_match"]["fuzziness"] == "1"
    assert to_elasticsearch("Pyongyan~")["multi_match"]["fuzziness"] == "AUTO"


def test_highlight_terms_skip_negations_and_entity_fields() -> None:
    assert highlight_terms(parse('talks "peace deal" -war org:UN title:summit')) == [
        "talks", "peace deal", "summit"]


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
    ("*", "at least two letters before '*'", 0),
    ("a*", "at least two letters before '*'", 0),
    ("ta*lk", "'*' only goes at the end of a word", 0),
    ("country:Narnia", "unknown country 'Narnia'", 8),
    ("talks ...", "'...' has no letters or digits", 6),
])
def test_errors_say_what_and_where(query: str, reason: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as error:
        to_elasticsearch(query)
    assert reason in error.value.reason
    assert error.value.position == position
