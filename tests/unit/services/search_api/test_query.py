from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.search_api.query import (
    BadRequest,
    SearchRequest,
    apply_bounds,
    base_query,
    build_body,
    check_date,
    decode_cursor,
    encode_cursor,
    facets_body,
    hits_body,
    interval_for,
    parse_response,
    resolve_date,
)


def test_empty_query_matches_everything_but_duplicates() -> None:
    query = base_query(SearchRequest())["bool"]
    assert query["must"] == [{"match_all": {}}]
    assert query["must_not"] == [{"term": {"is_duplicate": True}}]
    assert base_query(SearchRequest(hide_duplicates=False))["bool"]["must_not"] == []


def test_facet_filters_are_post_filters_and_each_facet_ignores_its_own() -> None:
    body = build_body(SearchRequest(filters={"people": ["Wi Sung-lac"], "language": ["en"]}))
    assert {"term": {"people": "Wi Sung-lac"}} in body["post_filter"]["bool"]["filter"]
    people_counts = body["aggs"]["people"]["filter"]["bool"]["filter"]
    assert people_counts == [{"term": {"language": "en"}}]  # not its own filter
    language_counts = body["aggs"]["language"]["filter"]["bool"]["filter"]
    assert language_counts == [{"term": {"people": "Wi Sung-lac"}}]


def test_dates_absolute_and_relative() -> None:
    assert check_date("now-7d", "from") == "now-7d"
    assert check_date("2025-12-18T09:00:00Z", "to") == "2025-12-18T09:00:00Z"
    with pytest.raises(BadRequest):
        check_date("last tuesday", "from")
    now = datetime(2026, 12, 1, 13, 35, 42, 123000, tzinfo=UTC)  # a Tuesday
    query = base_query(SearchRequest(date_from="now-7d", date_to="now", now=now))
    assert {"range": {"date": {"gte": "2026-11-24T13:35:00.000+00:00",
                               "lte": "2026-12-01T13:35:59.999+00:00"}}} in query["bool"]["filter"]


@pytest.mark.parametrize(("value", "upper", "expected"), [
    ("now-1M/d", False, "2026-11-01T00:00:00.000+00:00"),
    ("now/d", True, "2026-12-01T23:59:59.999+00:00"),
    ("now-1w/w", False, "2026-11-23T00:00:00.000+00:00"),  # weeks start on Monday
    ("now-2h", False, "2026-12-01T11:35:00.000+00:00"),
    ("now/y", True, "2026-12-31T23:59:59.999+00:00"),
    ("now-99999y", False, "0001-01-01T00:00:00.000+00:00"),  # the calendar's end, not an error
    ("2025-12-18", False, "2025-12-18"),
])
def test_relative_dates_are_resolved_to_the_minute(value: str, upper: bool, expected: str) -> None:
    now = datetime(2026, 12, 1, 13, 35, 42, 123000, tzinfo=UTC)
    assert resolve_date(value, now, upper) == expected


def test_the_facet_request_reads_no_clock_and_the_results_have_no_facets() -> None:
    request = SearchRequest(q="talks", date_from="now-30d", filters={"people": ["Wi Sung-lac"]})
    facets, results = facets_body(request), hits_body(request)
    assert facets["size"] == 0 and "now" not in json.dumps(facets)
    assert set(facets["aggs"]) >= {"people", "date"}
    assert "aggs" not in results and results["query"] == facets["query"]


def test_bad_query_becomes_a_bad_request_with_position() -> None:
    with pytest.raises(BadRequest) as error:
        base_query(SearchRequest(q="(sanctions"))
    assert error.value.position == 0 and "never closed" in error.value.reason


def test_histogram_interval_follows_the_span() -> None:
    assert interval_for(timedelta(hours=20)) == "hour"
    assert interval_for(timedelta(days=30)) == "day"
    assert interval_for(timedelta(days=200)) == "week"
    assert interval_for(timedelta(days=3000)) == "month"
    assert interval_for(timedelta(days=9000)) == "year"
    request = SearchRequest()
    apply_bounds(request, {"aggregations": {"first": {"value": 0}, "last": {"value": 3.6e6}}})
    histogram = build_body(request)["aggs"]["date"]["aggs"]["values"]["date_histogram"]
    assert histogram["calendar_interval"] == "hour"


def test_sort_has_a_tie_breaker_for_cursors() -> None:
    assert build_body(SearchRequest(sort="date"))["sort"] == [{"date": "desc"}, "_score",
                                                              {"article_id": "asc"}]
    cursor = encode_cursor("pit-1", [1.5, 1700000000000, "c1"])
    assert decode_cursor(cursor) == ("pit-1", [1.5, 1700000000000, "c1"])
    with pytest.raises(BadRequest):
        decode_cursor("not-a-cursor")


def test_highlights_are_html_escaped_and_follow_the_words() -> None:
    highlight = build_body(SearchRequest(q='"peace talks" -sport org:UN'))["highlight"]
    assert highlight["encoder"] == "html"
    phrases = [c["multi_match"]["query"] for c in highlight["highlight_query"]["bool"]["should"]]
    assert phrases == ["peace talks"]  # not the negated word, not the entity filter


def test_response_is_flattened_for_clients() -> None:
    response = {
        "took": 3,
        "hits": {"total": {"value": 1}, "hits": [{
            "_id": "c1", "_score": 1.5,
            "_source": {"title": "T", "people": ["A B"], "source": {"name": "Wire"},
                        "country_codes": ["KP"]},
            "highlight": {"title": ["<mark>T</mark>"]},
        }]},
        "aggregations": {
            "people": {"doc_count": 1, "values": {"buckets": [{"key": "A B", "doc_count": 1}]}},
            "date": {"doc_count": 1, "values": {"buckets": [
                {"key_as_string": "2025-12-18T00:00:00.000Z", "doc_count": 1}]}},
        },
    }
    parsed = parse_response(response)
    assert parsed["total"] == 1 and parsed["results"][0]["source"] == "Wire"
    assert parsed["results"][0]["countries"] == ["KP"]
    assert parsed["facets"]["people"] == [{"value": "A B", "count": 1}]
    assert parsed["facets"]["date"][0]["count"] == 1
