"""Search request → Elasticsearch DSL, as pure functions so they can be tested alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# Field weights: a word in the title says more about the article than one in the body.
SEARCH_FIELDS = [
    "title^3", "subtitle^2", "lead^1.5", "body", "headings",
    "people.text^2", "organizations.text^2", "places.text^2",
]
FACETS = {  # facet name → indexed field
    "people": "people",
    "organizations": "organizations",
    "places": "places",
    "countries": "country_codes",
    "topics": "topic_labels",
    "language": "language",
    "source": "source.name",
}


@dataclass
class SearchRequest:
    q: str | None = None
    filters: dict[str, list[str]] = field(default_factory=dict)  # facet name → values (AND)
    date_from: datetime | None = None
    date_to: datetime | None = None
    size: int = 10
    offset: int = 0
    sort: str = "relevance"  # or "date"
    hide_duplicates: bool = True
    facet_size: int = 20
    # Oldest and newest dates among the matches, to size the histogram's bars.
    data_start: datetime | None = None
    data_end: datetime | None = None


def build_query(request: SearchRequest) -> dict[str, Any]:
    must: list[dict[str, Any]] = []
    if request.q and request.q.strip():
        # simple_query_string never fails on user syntax: quotes, +, -, | and * work, junk is words.
        must.append({"simple_query_string": {
            "query": request.q, "fields": SEARCH_FIELDS, "default_operator": "and",
        }})
    filters: list[dict[str, Any]] = [
        {"term": {FACETS[name]: value}}
        for name, values in request.filters.items() for value in values
    ]
    if request.date_from or request.date_to:
        bounds = {}
        if request.date_from:
            bounds["gte"] = request.date_from.isoformat()
        if request.date_to:
            bounds["lte"] = request.date_to.isoformat()
        filters.append({"range": {"date": bounds}})
    must_not = [{"term": {"is_duplicate": True}}] if request.hide_duplicates else []
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filters, "must_not": must_not}}


# Calendar intervals by the span they suit: about 10 to 60 bars whatever the range.
_INTERVALS = [
    (timedelta(days=2), "hour"),
    (timedelta(days=60), "day"),
    (timedelta(days=400), "week"),
    (timedelta(days=3650), "month"),
]


def interval_for(span: timedelta) -> str:
    return next((name for limit, name in _INTERVALS if span <= limit), "year")


def histogram_interval(request: SearchRequest) -> str:
    """The server core has no auto_date_histogram, so the interval comes from the date range
    asked for, or from the range of the matching documents (`date_bounds`, when known)."""
    start, end = request.date_from or request.data_start, request.date_to or request.data_end
    if start and end:
        return interval_for(end - start)
    return "day"


def bounds_body(request: SearchRequest) -> dict[str, Any]:
    """A tiny first request for the oldest and newest matching dates."""
    return {"query": build_query(request), "size": 0,
            "aggs": {"first": {"min": {"field": "date"}}, "last": {"max": {"field": "date"}}}}


def build_body(request: SearchRequest) -> dict[str, Any]:
    aggs: dict[str, Any] = {
        name: {"terms": {"field": fieldname, "size": request.facet_size}}
        for name, fieldname in FACETS.items()
    }
    aggs["date"] = {"date_histogram": {
        "field": "date", "calendar_interval": histogram_interval(request), "min_doc_count": 1,
    }}
    sort: list[Any] = (
        [{"date": "desc"}, "_score"] if request.sort == "date" else ["_score", {"date": "desc"}]
    )
    return {
        "query": build_query(request),
        "from": request.offset,
        "size": request.size,
        "sort": sort,
        "track_total_hits": True,
        "_source": {"excludes": ["body", "models", "stems", "minhash"]},
        "highlight": {
            "pre_tags": ["<mark>"], "post_tags": ["</mark>"],
            "fields": {
                "title": {"number_of_fragments": 0},
                "body": {"fragment_size": 180, "number_of_fragments": 3},
            },
        },
        "aggs": aggs,
    }


def parse_response(response: dict[str, Any]) -> dict[str, Any]:
    hits = response["hits"]
    results = []
    for hit in hits["hits"]:
        source = hit["_source"]
        results.append({
            "id": hit["_id"],
            "score": hit.get("_score"),
            "title": source.get("title"),
            "subtitle": source.get("subtitle"),
            "url": source.get("url"),
            "date": source.get("date"),
            "language": source.get("language"),
            "source": source.get("source", {}).get("name"),
            "people": source.get("people", []),
            "organizations": source.get("organizations", []),
            "places": source.get("places", []),
            "countries": source.get("country_codes", []),
            "topics": source.get("topic_labels", []),
            "story_id": source.get("story_id"),
            "duplicate_of": source.get("duplicate_of"),
            "highlights": hit.get("highlight", {}),
        })
    aggregations = response.get("aggregations", {})
    facets: dict[str, Any] = {
        name: [{"value": b["key"], "count": b["doc_count"]} for b in aggregations[name]["buckets"]]
        for name in FACETS if name in aggregations
    }
    if "date" in aggregations:
        facets["date"] = {
            "interval": aggregations["date"].get("interval"),
            "buckets": [{"date": b["key_as_string"], "count": b["doc_count"]}
                        for b in aggregations["date"]["buckets"]],
        }
    return {"total": hits["total"]["value"], "took_ms": response.get("took"),
            "results": results, "facets": facets}


def apply_bounds(request: SearchRequest, response: dict[str, Any]) -> None:
    aggregations = response.get("aggregations", {})
    first, last = (aggregations.get(k, {}).get("value") for k in ("first", "last"))
    if first is not None and last is not None:
        request.data_start = datetime.fromtimestamp(first / 1000, UTC)
        request.data_end = datetime.fromtimestamp(last / 1000, UTC)
