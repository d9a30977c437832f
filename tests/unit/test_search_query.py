from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.search_api.query import (
    SearchRequest,
    apply_bounds,
    build_body,
    build_query,
    interval_for,
    parse_response,
)


def test_empty_query_matches_everything() -> None:
    assert build_query(SearchRequest())["bool"]["must"] == [{"match_all": {}}]


def test_words_filters_and_dates_compile_to_bool_query() -> None:
    query = build_query(SearchRequest(
        q='"peace talks" Guterres', filters={"people": ["Wi Sung-lac"], "language": ["en"]},
        date_from=datetime(2025, 12, 1, tzinfo=UTC),
    ))["bool"]
    assert query["must"][0]["simple_query_string"]["query"] == '"peace talks" Guterres'
    assert {"term": {"people": "Wi Sung-lac"}} in query["filter"]
    assert {"term": {"language": "en"}} in query["filter"]
    assert {"range": {"date": {"gte": "2025-12-01T00:00:00+00:00"}}} in query["filter"]


def test_histogram_interval_follows_the_span() -> None:
    assert interval_for(timedelta(hours=20)) == "hour"
    assert interval_for(timedelta(days=30)) == "day"
    assert interval_for(timedelta(days=200)) == "week"
    assert interval_for(timedelta(days=3000)) == "month"
    assert interval_for(timedelta(days=9000)) == "year"
    request = SearchRequest()
    apply_bounds(request, {"aggregations": {"first": {"value": 0}, "last": {"value": 3.6e6}}})
    histogram = build_body(request)["aggs"]["date"]["date_histogram"]
    assert histogram["calendar_interval"] == "hour"


def test_response_is_flattened_for_clients() -> None:
    response = {
        "took": 3,
        "hits": {"total": {"value": 1}, "hits": [{
            "_id": "c1", "_score": 1.5,
            "_source": {"title": "T", "people": ["A B"], "source": {"name": "Wire"}},
            "highlight": {"title": ["<mark>T</mark>"]},
        }]},
        "aggregations": {
            "people": {"buckets": [{"key": "A B", "doc_count": 1}]},
            "date": {"buckets": [{"key_as_string": "2025-12-18T00:00:00.000Z", "doc_count": 1}]},
        },
    }
    parsed = parse_response(response)
    assert parsed["total"] == 1 and parsed["results"][0]["source"] == "Wire"
    assert parsed["facets"]["people"] == [{"value": "A B", "count": 1}]
    assert parsed["facets"]["date"]["buckets"][0]["count"] == 1
