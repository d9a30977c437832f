"""The search API and page: /search, /articles/{id}[/related], /stories/{id}, /suggest, /health."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Any, Literal

from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError
from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse

from services.search_api.query import (
    BadRequest,
    SearchRequest,
    apply_bounds,
    bounds_body,
    build_body,
    check_date,
    decode_cursor,
    encode_cursor,
    parse_response,
    summarize_hit,
)
from services.search_api.query_language import __doc__ as SYNTAX_HELP
from shared.http import elasticsearch_status, error_response, install_error_handlers, kafka_reachable
from shared.search_index import ensure_index, make_client
from shared.settings import Settings, get_settings

PIT_KEEP_ALIVE = "2m"
BOUNDS_TTL = 60.0  # seconds the index's oldest/newest dates are reused for histogram intervals
FacetValues = Annotated[list[str] | None, Query()]
_INTERNAL = ["stems", "title_stems", "minhash"]  # for matching and enrichment, not for readers
_EXCLUDED = ["body", "models", *_INTERNAL]  # what lists of results leave out


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    alias = settings.index_alias
    state: dict[str, AsyncElasticsearch] = {}
    bounds_cache: dict[str, Any] = {"at": 0.0, "response": None}

    async def index_bounds() -> dict[str, Any]:
        """The index's date range, refreshed at most every BOUNDS_TTL seconds: one cheap
        request a minute instead of one more per search, to size the histogram's bars."""
        if bounds_cache["response"] is None or time.monotonic() - bounds_cache["at"] > BOUNDS_TTL:
            bounds_cache["response"] = (await state["es"].search(
                index=alias, **bounds_body(SearchRequest(hide_duplicates=False)))).body
            bounds_cache["at"] = time.monotonic()
        return dict(bounds_cache["response"])
    page = resources.files("services.search_api").joinpath("static/index.html").read_text()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        es = make_client(settings)
        await ensure_index(es, settings)
        state["es"] = es
        yield
        await es.close()

    app = FastAPI(title="newsflow search", version="0.2.0", lifespan=lifespan,
                  description="Full-text, faceted search over the processed news.\n\n"
                              f"Query syntax:\n```{SYNTAX_HELP}```")
    install_error_handlers(app)

    @app.exception_handler(BadRequest)
    async def _bad_request(_: Any, exc: BadRequest) -> JSONResponse:
        details = {"position": exc.position} if exc.position is not None else None
        return error_response(400, exc.code, exc.reason, details)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def search_page() -> str:
        return page

    @app.get("/search", summary="Search articles", responses={400: {"description": "bad query"}},
             openapi_extra={"x-examples": ['"peace talks" org:"U.N." -sport', "country:KP topic:politics"]})
    async def search(
        q: Annotated[str | None, Query(max_length=1000, description="query syntax: see the API "
                                       "description", examples=['sanctions "peace talks"'])] = None,
        person: FacetValues = None,
        org: FacetValues = None,
        place: FacetValues = None,
        country: FacetValues = None,
        topic: FacetValues = None,
        lang: FacetValues = None,
        source: FacetValues = None,
        date_from: Annotated[str | None, Query(alias="from", examples=["now-7d"])] = None,
        date_to: Annotated[str | None, Query(alias="to", examples=["2025-12-31"])] = None,
        sort: Literal["relevance", "date"] = "relevance",
        size: Annotated[int, Query(ge=0, le=100)] = 10,
        hide_duplicates: bool = True,
        cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    ) -> Any:
        filters = {name: values for name, values in (
            ("people", person), ("organizations", org), ("places", place),
            ("countries", country), ("topics", topic), ("language", lang), ("source", source))
            if values}
        request = SearchRequest(q=q, filters=filters, date_from=check_date(date_from, "from"),
                                date_to=check_date(date_to, "to"), size=size, sort=sort,
                                hide_duplicates=hide_duplicates)
        es = state["es"]
        try:
            if cursor is None:
                apply_bounds(request, await index_bounds())
                response = await es.search(index=alias, **build_body(request))
                result = parse_response(response.body)
                pit_id = None
            else:
                # Later pages: one point in time, so the pages see one snapshot of the index.
                pit_id, after = decode_cursor(cursor)
                if not pit_id:
                    pit_id = (await es.open_point_in_time(index=alias, keep_alive=PIT_KEEP_ALIVE))["id"]
                body = build_body(request)
                body.pop("aggs")
                response = await es.search(**body, search_after=after,
                                           pit={"id": pit_id, "keep_alive": PIT_KEEP_ALIVE})
                result = parse_response(response.body)
                pit_id = response.body.get("pit_id", pit_id)
        except BadRequestError as exc:
            return error_response(400, "bad_query", "the search engine rejected the query",
                                  _root_cause(exc))
        except NotFoundError:
            return error_response(400, "bad_cursor", "the cursor has expired; search again")
        hits = response.body["hits"]["hits"]
        result["next_cursor"] = (encode_cursor(pit_id or "", hits[-1]["sort"])
                                 if size and len(hits) == size else None)
        return result

    async def fetch(article_id: str) -> dict[str, Any]:
        try:
            document = await state["es"].get(index=alias, id=article_id, source_excludes=_INTERNAL)
        except NotFoundError:
            raise BadRequest(f"no article with id {article_id!r}", code="not_found") from None
        return {"id": document["_id"], **document["_source"]}

    @app.get("/articles/{article_id}", summary="One article, fully enriched")
    async def get_article(article_id: str) -> Any:
        try:
            return await fetch(article_id)
        except BadRequest as exc:
            return error_response(404, exc.code, exc.reason)

    @app.get("/articles/{article_id}/related", summary="Same story first, then similar articles")
    async def related(article_id: str, size: Annotated[int, Query(ge=1, le=50)] = 10) -> Any:
        try:
            article = await fetch(article_id)
        except BadRequest as exc:
            return error_response(404, exc.code, exc.reason)
        es = state["es"]
        not_self = {"ids": {"values": [article_id]}}
        same_story: list[dict[str, Any]] = []
        if article.get("story_id"):
            story = await es.search(index=alias, size=size, sort=[{"date": "desc"}],
                                    source_excludes=_EXCLUDED, query={"bool": {
                                        "filter": [{"term": {"story_id": article["story_id"]}}],
                                        "must_not": [not_self, {"term": {"is_duplicate": True}}]}})
            same_story = [summarize_hit(h) | {"same_story": True} for h in story["hits"]["hits"]]
        seen = [article_id, *(hit["id"] for hit in same_story)]
        entities = [{"terms": {kind: article.get(kind, [])[:10], "boost": 0.5}}
                    for kind in ("people", "organizations", "places") if article.get(kind)]
        similar = await es.search(index=alias, size=size, source_excludes=_EXCLUDED, query={"bool": {
            "should": [{"more_like_this": {"fields": ["title", "body"],
                                           "like": [{"_index": alias, "_id": article_id}],
                                           "min_term_freq": 1, "min_doc_freq": 1,
                                           "max_query_terms": 40}}, *entities],
            "minimum_should_match": 1,
            "must_not": [{"ids": {"values": seen}}, {"term": {"is_duplicate": True}}]}})
        more = [summarize_hit(h) | {"same_story": False} for h in similar["hits"]["hits"]]
        return {"article_id": article_id, "story_id": article.get("story_id"),
                "results": (same_story + more)[:size]}

    @app.get("/stories/{story_id}", summary="The articles of one story, oldest first")
    async def story(story_id: str, size: Annotated[int, Query(ge=1, le=200)] = 100,
                    hide_duplicates: bool = True) -> Any:
        not_copies = [{"term": {"is_duplicate": True}}] if hide_duplicates else []
        response = await state["es"].search(
            index=alias, size=size, sort=[{"date": "asc"}, {"article_id": "asc"}],
            source_excludes=_EXCLUDED, query={"bool": {
                "filter": [{"term": {"story_id": story_id}}], "must_not": not_copies}})
        hits = response["hits"]["hits"]
        if not hits:
            return error_response(404, "not_found", f"no story with id {story_id!r}")
        return {"story_id": story_id, "total": response["hits"]["total"]["value"],
                "articles": [summarize_hit(h) for h in hits]}

    @app.get("/suggest", summary="Entity and keyword autocomplete, typo tolerant")
    async def suggest(prefix: Annotated[str, Query(min_length=2, max_length=100)],
                      size: Annotated[int, Query(ge=1, le=30)] = 10) -> Any:
        return {"prefix": prefix, "suggestions": await _suggest(state["es"], alias, prefix, size)}

    @app.get("/health")
    async def health() -> JSONResponse:
        es_status = await elasticsearch_status(state["es"])
        kafka_ok = await kafka_reachable(settings.kafka_bootstrap)
        healthy = kafka_ok and es_status in ("green", "yellow")
        return JSONResponse({
            "status": "ok" if healthy else "degraded",
            "kafka": "ok" if kafka_ok else "unreachable",
            "elasticsearch": es_status or "unreachable",
        }, status_code=200 if healthy else 503)

    return app


_SUGGEST_FIELDS = {"person": "people", "organization": "organizations", "place": "places",
                   "keyword": "keywords.text"}


async def _suggest(es: AsyncElasticsearch, alias: str, prefix: str, size: int) -> list[dict[str, Any]]:
    """Documents whose entities start like the prefix, or nearly (one or two typos), then the
    entity values themselves, ranked: true prefix matches first, then by how often they occur."""
    word = prefix.lower().split()[-1]
    should: list[dict[str, Any]] = []
    for fieldname in _SUGGEST_FIELDS.values():
        text_field = f"{fieldname}.text"  # the analysed sub-field of each keyword field
        should += [{"match_phrase_prefix": {text_field: prefix}},
                   {"fuzzy": {text_field: {"value": word, "fuzziness": "AUTO"}}}]
    response = await es.search(index=alias, size=0, query={"bool": {"should": should}}, aggs={
        kind: {"terms": {"field": fieldname, "size": 200}} for kind, fieldname in _SUGGEST_FIELDS.items()})
    lowered = prefix.lower()
    candidates = []
    for kind, aggregation in response["aggregations"].items():
        for bucket in aggregation["buckets"]:
            value = str(bucket["key"])
            words_of_value = value.lower().split()
            exact = value.lower().startswith(lowered) or any(w.startswith(word) for w in words_of_value)
            close = exact or any(_within_typos(word, w[:len(word) + 1]) for w in words_of_value)
            if close:
                candidates.append({"text": value, "kind": kind, "count": bucket["doc_count"],
                                   "exact": exact})
    candidates.sort(key=lambda c: (not c["exact"], -c["count"], c["text"]))
    return candidates[:size]


def _within_typos(typed: str, word: str) -> bool:
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


def _root_cause(exc: BadRequestError) -> Any:
    body = exc.body if isinstance(exc.body, dict) else {}
    causes = body.get("error", {}).get("root_cause") or [{}]
    return causes[0].get("reason") or exc.message


