"""Search request → Elasticsearch request body, as pure functions so they can be tested alone.

Facets are multi-select: the facet filters go in `post_filter`, and each facet's counts are
computed under every *other* active filter, so ticking a person does not empty the people list.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from shared.contracts.document import (
    FACETS,
    HIDDEN_FIELDS,
    LIST_FIELDS,
    DocField,
    entity_text_field,
    summarize_hit,
)
from shared.query import Query, QuerySyntaxError
from shared.text.dates import parse_iso

# ISO dates and times, or Elasticsearch date math relative to now ("now-7d", "now-1M/d").
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?"
                   r"|now([+-]\d{1,5}[smhdwMy])*(/[smhdwMy])?")


NOT_DUPLICATE = {"term": {DocField.IS_DUPLICATE: True}}


class BadRequest(ValueError):
    """A request we can name the problem of: answered 400 with `reason` (and `position`)."""

    def __init__(self, reason: str, position: int | None = None, code: str = "bad_request"):
        super().__init__(reason)
        self.reason, self.position, self.code = reason, position, code


@dataclass
class SearchRequest:
    q: str | None = None
    filters: dict[str, list[str]] = field(default_factory=dict)  # facet name → values (AND)
    date_from: str | None = None
    date_to: str | None = None
    size: int = 10
    sort: str = "relevance"  # or "date"
    hide_duplicates: bool = True
    facet_size: int = 20
    # Oldest and newest dates among the matches, to size the histogram's bars.
    data_start: datetime | None = None
    data_end: datetime | None = None
    # The instant "now" means in this request's dates: one for all its Elasticsearch requests.
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


_OFFSET = re.compile(r"([+-])(\d+)([smhdwMy])")
_UNIT_NAMES = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks",
               "M": "months", "y": "years"}


def _floor(instant: datetime, unit: str) -> datetime:
    """The start of the unit (second, minute … year; weeks start on Monday) the instant is in."""
    floored = instant.replace(microsecond=0)
    if unit != "s":
        floored = floored.replace(second=0)
    if unit not in "sm":
        floored = floored.replace(minute=0)
    if unit not in "smh":
        floored = floored.replace(hour=0)
    if unit == "w":
        return floored - timedelta(days=floored.weekday()) if floored.year > 1 else floored
    if unit in "My":
        floored = floored.replace(day=1)
    return floored.replace(month=1) if unit == "y" else floored


def _shift(instant: datetime, amount: int, unit: str) -> datetime:
    """`amount` units later (earlier when negative), stopping at the ends of the calendar."""
    try:
        return instant + relativedelta(**{_UNIT_NAMES[unit]: amount})
    except (OverflowError, ValueError):
        return (datetime.max if amount > 0 else datetime.min).replace(tzinfo=UTC)


def resolve_date(value: str | None, now: datetime, upper: bool) -> str | None:
    """Date math relative to now ("now-7d", "now-1M/d") as an absolute instant, with now taken
    to the minute (down for a lower bound, to the minute's end for an upper one), and rounding
    as Elasticsearch does it (an upper bound rounds to the end of its unit). An absolute date
    is left alone. Why: Elasticsearch does not cache a request that reads the clock, and a
    minute's precision lets the facet request be served from its shard request cache."""
    if value is None or not value.startswith("now"):
        return value
    offsets, _, rounding = value[3:].partition("/")
    instant = _floor(now.astimezone(UTC), "m")
    for sign, amount, unit in _OFFSET.findall(offsets):
        instant = _shift(instant, int(amount) * (1 if sign == "+" else -1), unit)
    unit = rounding or "m"
    instant = _floor(instant, unit)
    if upper and instant.year < datetime.max.year:
        instant = _shift(instant, 1, unit) - timedelta(milliseconds=1)
    return instant.isoformat(timespec="milliseconds")


def check_date(value: str | None, name: str) -> str | None:
    valid = value is None or bool(_DATE.fullmatch(value))
    if valid and value is not None and not value.startswith("now"):
        try:  # the pattern lets through dates that do not exist (2025-02-30, 0000-01-01)
            parse_iso(value)
        except (ValueError, OverflowError):
            valid = False
    if not valid:
        raise BadRequest(f"'{name}' must be an ISO date (2025-12-18, 2025-12-18T09:00:00Z) or "
                         f"relative to now (now-7d, now-1M)", code="bad_date")
    return value


def base_query(request: SearchRequest) -> dict[str, Any]:
    """The query without facet filters: text, dates, duplicates."""
    must: list[dict[str, Any]] = []
    if request.q and request.q.strip():
        try:
            must.append(Query.parse(request.q).elasticsearch())
        except QuerySyntaxError as exc:
            raise BadRequest(exc.reason, exc.position, "bad_query") from exc
    filters: list[dict[str, Any]] = []
    if request.date_from or request.date_to:
        bounds = {"gte": resolve_date(request.date_from, request.now, upper=False),
                  "lte": resolve_date(request.date_to, request.now, upper=True)}
        filters.append({"range": {DocField.DATE: {k: v for k, v in bounds.items() if v}}})
    must_not = [NOT_DUPLICATE] if request.hide_duplicates else []
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filters, "must_not": must_not}}


def facet_filters(request: SearchRequest, leave_out: str | None = None) -> list[dict[str, Any]]:
    return [{"term": {FACETS[name]: value}}
            for name, values in request.filters.items() if name != leave_out for value in values]


def build_query(request: SearchRequest) -> dict[str, Any]:
    """Everything, facet filters included (for counting and bounds)."""
    query = base_query(request)
    query["bool"]["filter"] = query["bool"]["filter"] + facet_filters(request)
    return query


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
    """The server core has no auto_date_histogram: the interval comes from the dates asked for
    where they are absolute, else from the index's date range (`bounds_body`, cached)."""
    start, end = request.data_start, request.data_end
    if request.date_from and not request.date_from.startswith("now"):
        start = parse_iso(request.date_from)
    if request.date_to and not request.date_to.startswith("now"):
        end = parse_iso(request.date_to)
    if request.date_from and request.date_from.startswith("now") and end:
        start = max(start or end, end - _relative(request.date_from))
    if start and end and end > start:
        return interval_for(end - start)
    return "day"


_LONGEST = timedelta(days=365 * 200)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "M": 30 * 86400, "y": 365 * 86400}


def _relative(value: str) -> timedelta:
    """How far back "now-7d" reaches (only the first offset counts; enough to size bars)."""
    match = re.match(r"now-(\d+)([smhdwMy])", value)
    span = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)]) if match else timedelta(0)
    return min(span, _LONGEST)  # "now-99999y" must not run dates past year 1


def bounds_body(request: SearchRequest) -> dict[str, Any]:
    """A tiny first request for the oldest and newest matching dates."""
    return {"query": build_query(request), "size": 0,
            "aggs": {"first": {"min": {"field": DocField.DATE}}, "last": {"max": {"field": DocField.DATE}}}}


def apply_bounds(request: SearchRequest, response: dict[str, Any]) -> None:
    aggregations = response.get("aggregations", {})
    first, last = (aggregations.get(k, {}).get("value") for k in ("first", "last"))
    if first is not None and last is not None:
        request.data_start = datetime.fromtimestamp(first / 1000, UTC)
        request.data_end = datetime.fromtimestamp(last / 1000, UTC)


def _aggregations(request: SearchRequest) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for name, fieldname in FACETS.items():
        others = facet_filters(request, leave_out=name)
        terms = {"terms": {"field": fieldname, "size": request.facet_size}}
        aggs[name] = {"filter": {"bool": {"filter": others}}, "aggs": {"values": terms}}
    aggs["date"] = {"filter": {"bool": {"filter": facet_filters(request)}}, "aggs": {"values": {
        "date_histogram": {"field": DocField.DATE, "calendar_interval": histogram_interval(request),
                           "min_doc_count": 1}}}}
    return aggs


def _highlight(request: SearchRequest) -> dict[str, Any]:
    fields = {DocField.TITLE: {"number_of_fragments": 0}, DocField.SUBTITLE: {"number_of_fragments": 0},
              DocField.BODY: {"fragment_size": 180, "number_of_fragments": 3}}
    # encoder html: the text is escaped, so only our <mark> tags reach a page as markup.
    highlight: dict[str, Any] = {"pre_tags": ["<mark>"], "post_tags": ["</mark>"],
                                 "encoder": "html", "fields": fields}
    clauses = Query.parse(request.q).highlight(list(fields)) if request.q and request.q.strip() else []
    if clauses:
        # Matching runs on stems and the index's words; highlighting marks the words as written.
        highlight["highlight_query"] = {"bool": {"should": clauses}}
    return highlight


def sort_order(request: SearchRequest) -> list[Any]:
    # article_id breaks ties, so search_after pages never skip or repeat a document.
    primary: list[Any] = [{DocField.DATE: "desc"}, "_score"] if request.sort == "date" \
        else ["_score", {DocField.DATE: "desc"}]
    return [*primary, {DocField.ARTICLE_ID: "asc"}]


def hits_body(request: SearchRequest) -> dict[str, Any]:
    """A page of results without facets: what must be fresh and exact on every request."""
    return {
        "query": base_query(request),
        "post_filter": {"bool": {"filter": facet_filters(request)}},
        "size": request.size,
        "sort": sort_order(request),
        "track_total_hits": True,
        "_source": LIST_FIELDS,
        "highlight": _highlight(request),
    }


def facets_body(request: SearchRequest) -> dict[str, Any]:
    """The facets alone: `size: 0` and no clock in it (dates resolved to the minute), so
    Elasticsearch's shard request cache can answer a repeated one until the index next
    changes. Exact, as uncached: the cache is dropped whenever a refresh brings new data."""
    return {"query": base_query(request), "size": 0, "track_total_hits": False,
            "aggs": _aggregations(request)}


def build_body(request: SearchRequest) -> dict[str, Any]:
    """Results and facets in one request (what a client of Elasticsearch would send naively;
    the API sends `hits_body` and `facets_body` side by side)."""
    return {**hits_body(request), "aggs": _aggregations(request)}


PREVIEW_DAYS = 7
PREVIEW_EXAMPLES = 5


def preview_body(request: SearchRequest) -> dict[str, Any]:
    """What a subscription would have alerted on: the articles that arrived in the last seven
    days (by arrival, as alerts fire), per day, distinct stories, and the newest examples."""
    query = build_query(request)
    query["bool"]["filter"].append(
        {"range": {DocField.SUBMITTED_AT: {"gte": f"now-{PREVIEW_DAYS - 1}d/d"}}})
    return {
        "query": query, "size": PREVIEW_EXAMPLES, "track_total_hits": True,
        "sort": [{DocField.SUBMITTED_AT: "desc"}, {DocField.ARTICLE_ID: "asc"}],
        "_source": LIST_FIELDS,
        "aggs": {
            "per_day": {"date_histogram": {
                "field": DocField.SUBMITTED_AT, "calendar_interval": "day", "min_doc_count": 0,
                "extended_bounds": {"min": f"now-{PREVIEW_DAYS - 1}d/d", "max": "now/d"}}},
            "stories": {"cardinality": {"field": DocField.STORY_ID}},
        },
    }


def parse_preview(response: dict[str, Any]) -> dict[str, Any]:
    aggregations = response.get("aggregations", {})
    return {
        "articles": response["hits"]["total"]["value"],
        "stories": aggregations.get("stories", {}).get("value", 0),
        "per_day": [{"date": b["key_as_string"][:10], "count": b["doc_count"]}
                    for b in aggregations.get("per_day", {}).get("buckets", [])],
        "examples": [summarize_hit(hit) for hit in response["hits"]["hits"]],
    }


def encode_cursor(pit_id: str, search_after: list[Any]) -> str:
    raw = json.dumps({"pit": pit_id, "after": search_after}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[str, list[Any]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(data["pit"]), list(data["after"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest("the cursor is not one this API gave out", code="bad_cursor") from exc


def parse_response(response: dict[str, Any]) -> dict[str, Any]:
    hits = response["hits"]
    aggregations = response.get("aggregations", {})
    facets: dict[str, Any] = {
        name: [{"value": b["key"], "count": b["doc_count"]}
               for b in aggregations[name]["values"]["buckets"]]
        for name in FACETS if name in aggregations
    }
    if "date" in aggregations:
        facets["date"] = [{"date": b["key_as_string"], "count": b["doc_count"]}
                          for b in aggregations["date"]["values"]["buckets"]]
    return {"total": hits["total"]["value"], "took_ms": response.get("took"),
            "results": [summarize_hit(hit) for hit in hits["hits"]], "facets": facets}


def article_excludes() -> list[str]:
    """One article, in full: everything but the fields for machines."""
    return list(HIDDEN_FIELDS)


def related_story_body(article_id: str, story_id: str, size: int) -> dict[str, Any]:
    """The other articles of the article's story, newest first, copies left out."""
    return {"size": size, "sort": [{DocField.DATE: "desc"}], "_source": LIST_FIELDS,
            "query": {"bool": {"filter": [{"term": {DocField.STORY_ID: story_id}}],
                               "must_not": [{"ids": {"values": [article_id]}}, NOT_DUPLICATE]}}}


def similar_body(alias: str, article: dict[str, Any], leave_out: list[str], size: int) -> dict[str, Any]:
    """Articles like this one: its words (more_like_this) and, weaker, its entities."""
    entities = [{"terms": {kind.value: article.get(kind.value, [])[:10], "boost": 0.5}}
                for kind in (DocField.PEOPLE, DocField.ORGANIZATIONS, DocField.PLACES)
                if article.get(kind.value)]
    like = {"more_like_this": {"fields": [DocField.TITLE, DocField.BODY],
                               "like": [{"_index": alias, "_id": article["id"]}],
                               "min_term_freq": 1, "min_doc_freq": 1, "max_query_terms": 40}}
    return {"size": size, "_source": LIST_FIELDS, "query": {"bool": {
        "should": [like, *entities], "minimum_should_match": 1,
        "must_not": [{"ids": {"values": leave_out}}, NOT_DUPLICATE]}}}


def story_body(story_id: str, size: int, hide_duplicates: bool) -> dict[str, Any]:
    """A story's articles, oldest first."""
    return {"size": size, "sort": [{DocField.DATE: "asc"}, {DocField.ARTICLE_ID: "asc"}],
            "_source": LIST_FIELDS,
            "query": {"bool": {"filter": [{"term": {DocField.STORY_ID: story_id}}],
                               "must_not": [NOT_DUPLICATE] if hide_duplicates else []}}}


# Suggestion kind → the keyword field its values come from.
SUGGEST_FIELDS = {"person": DocField.PEOPLE, "organization": DocField.ORGANIZATIONS,
                  "place": DocField.PLACES, "keyword": DocField.KEYWORD_TEXT}


def suggest_body(prefix: str) -> dict[str, Any]:
    """Documents whose entities start like the prefix, or nearly (one or two typos), with the
    entity values counted per kind."""
    word = prefix.lower().split()[-1]
    should: list[dict[str, Any]] = []
    for doc_field in SUGGEST_FIELDS.values():
        text_field = entity_text_field(doc_field)
        should += [{"match_phrase_prefix": {text_field: prefix}},
                   {"fuzzy": {text_field: {"value": word, "fuzziness": "AUTO"}}}]
    return {"size": 0, "query": {"bool": {"should": should}},
            "aggs": {kind: {"terms": {"field": doc_field, "size": 200}}
                     for kind, doc_field in SUGGEST_FIELDS.items()}}


def rank_suggestions(prefix: str, aggregations: dict[str, Any], size: int) -> list[dict[str, Any]]:
    """Entity values ranked: true prefix matches first, then by how often they occur."""
    word = prefix.lower().split()[-1]
    lowered = prefix.lower()
    candidates = []
    for kind, aggregation in aggregations.items():
        for bucket in aggregation["buckets"]:
            value = str(bucket["key"])
            words_of_value = value.lower().split()
            exact = value.lower().startswith(lowered) or any(w.startswith(word) for w in words_of_value)
            close = exact or any(within_typos(word, w[:len(word) + 1]) for w in words_of_value)
            if close:
                candidates.append({"text": value, "kind": kind, "count": bucket["doc_count"],
                                   "exact": exact})
    candidates.sort(key=lambda c: (not c["exact"], -c["count"], c["text"]))
    return candidates[:size]


def within_typos(typed: str, word: str) -> bool:
    """Levenshtein distance within what the typed length allows: none up to 4 letters (too
    many short words are one letter apart), one up to 7, two beyond."""
    limit = 0 if len(typed) <= 4 else 1 if len(typed) <= 7 else 2
    previous = list(range(len(word) + 1))
    for i, a in enumerate(typed, 1):
        current = [i]
        for j, b in enumerate(word, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return min(previous) <= limit
