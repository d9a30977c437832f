"""GET /search and GET /suggest."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from services.search_api.answers import SearchAnswer, Suggestions, Syntax
from services.search_api.cache import request_key
from services.search_api.deps import NewsIndexDep
from services.search_api.query import (
    BadRequest,
    SearchRequest,
    apply_bounds,
    check_date,
    decode_cursor,
    encode_cursor,
    facets_body,
    hits_body,
    parse_response,
    rank_suggestions,
    suggest_body,
)
from shared.contracts.document import FILTER_PARAMS
from shared.query import FIELDS
from shared.query import __doc__ as SYNTAX_HELP

router = APIRouter(tags=["search"])
FacetValues = Annotated[list[str] | None, Query()]


@router.get("/search/syntax", summary="The query language: its constructs and its fields",
            response_model=Syntax)
async def syntax() -> dict[str, Any]:
    """What the page's help shows, from the language's own table: adding a field adds it here."""
    return {"help": (SYNTAX_HELP or "").split("\n\n")[1].strip("\n"),
            "fields": [{"name": spec.name, "meaning": spec.meaning, "example": spec.example}
                       for spec in FIELDS.values()]}


# The answer is written here (orjson, or the cache's bytes): its model documents it, unchecked.
@router.get("/search", summary="Search articles", responses={400: {"description": "bad query"}},
            response_model=SearchAnswer,
            openapi_extra={"x-examples": ['"peace talks" org:"U.N." -sport', "country:KP topic:politics"]})
async def search(
    index: NewsIndexDep,
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
    given = {"person": person, "org": org, "place": place, "country": country, "topic": topic,
             "lang": lang, "source": source}
    filters = {FILTER_PARAMS[param]: values for param, values in given.items() if values}
    request = SearchRequest(q=q, filters=filters, date_from=check_date(date_from, "from"),
                            date_to=check_date(date_to, "to"), size=size, sort=sort,
                            hide_duplicates=hide_duplicates)
    key = generation = None
    if cursor is None:
        apply_bounds(request, await index.bounds())
        bodies = hits_body(request), facets_body(request)
        if index.cache is not None:
            key, generation = request_key(*bodies), await index.generation()
            cached = index.cache.get(key, generation)
            if cached is not None:
                return Response(cached, media_type="application/json")
        # Results and facets side by side: the facets, the costly part, are a `size: 0`
        # request with no clock in it, which the shard request cache can answer.
        response, facets = await asyncio.gather(
            index.search(bodies[0]), index.search(bodies[1], request_cache=True))
        response["aggregations"] = facets.get("aggregations", {})
        pit_id = None
    else:
        pit_id, after = decode_cursor(cursor)
        response = await index.search_in(pit_id, {**hits_body(request), "search_after": after})
        pit_id = response.get("pit_id", pit_id)
    result = parse_response(response)
    hits = response["hits"]["hits"]
    last_page = not (size and len(hits) == size)
    result["next_cursor"] = None if last_page else encode_cursor(pit_id or "", hits[-1]["sort"])
    if last_page and pit_id:
        await index.close_pit(pit_id)
    # Plain JSON already (Elasticsearch's own values): FastAPI's jsonable_encoder would walk it
    # again for nothing, 2.8 ms of CPU per page of 10 hits with facets (json.dumps: 0.2 ms,
    # orjson a tenth of that).
    body = orjson.dumps(result)
    if index.cache is not None and key is not None and generation is not None:
        index.cache.put(key, generation, body)
    return Response(body, media_type="application/json")


@router.get("/suggest", summary="Entity and keyword autocomplete, typo tolerant",
            response_model=Suggestions)
async def suggest(index: NewsIndexDep, prefix: Annotated[str, Query(min_length=2, max_length=100)],
                  size: Annotated[int, Query(ge=1, le=30)] = 10) -> Any:
    if len(prefix.strip()) < 2:
        raise BadRequest("'prefix' needs at least two characters besides spaces", code="bad_prefix")
    response = await index.search(suggest_body(prefix))
    return {"prefix": prefix,
            "suggestions": rank_suggestions(prefix, response.get("aggregations", {}), size)}
