"""The documented answers say what the API writes: the hit model has the fields the search
path builds (by hand, as plain dicts, for speed) and no others."""

from __future__ import annotations

from services.search_api.answers import Hit, SearchAnswer
from services.search_api.query import parse_response
from shared.contracts.document import summarize_hit


def test_a_hit_has_the_fields_summarize_hit_writes() -> None:
    written = summarize_hit({"_id": "a1", "_score": 1.5, "_source": {"title": "T"}})
    assert set(written) == set(Hit.model_fields)
    assert Hit.model_validate(written).model_dump() == written


def test_a_search_answer_validates_as_its_model() -> None:
    response = {"took": 3, "hits": {"total": {"value": 1}, "hits": [
        {"_id": "a1", "_score": 1.0, "_source": {"title": "T", "people": ["Ann Lee"]},
         "highlight": {"title": ["<em>T</em>"]}}]},
        "aggregations": {"people": {"values": {"buckets": [{"key": "Ann Lee", "doc_count": 1}]}}}}
    answer = parse_response(response) | {"next_cursor": None}
    assert set(answer) == set(SearchAnswer.model_fields)
    assert SearchAnswer.model_validate(answer).results[0].highlights == {"title": ["<em>T</em>"]}
