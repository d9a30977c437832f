"""GET /search, GET /articles/{id}, GET /health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError
from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse

from services.search_api.query import (
    SearchRequest,
    apply_bounds,
    bounds_body,
    build_body,
    parse_response,
)
from shared.http import (
    elasticsearch_status,
    error_response,
    install_error_handlers,
    kafka_reachable,
)
from shared.search_index import ensure_index, make_client
from shared.settings import Settings, get_settings

_MAX_WINDOW = 10_000  # Elasticsearch's default max_result_window

FacetValues = Annotated[list[str] | None, Query()]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    state: dict[str, AsyncElasticsearch] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        es = make_client(settings)
        await ensure_index(es, settings)
        state["es"] = es
        yield
        await es.close()

    app = FastAPI(title="newsflow search", version="0.1.0", lifespan=lifespan,
                  description="Full-text, faceted search over the processed news.")
    install_error_handlers(app)

    @app.get("/search")
    async def search(
        q: Annotated[str | None, Query(max_length=1000, description="words, \"phrases\", "
                                       "+must -not a|b prefix*")] = None,
        person: FacetValues = None,
        org: FacetValues = None,
        place: FacetValues = None,
        country: FacetValues = None,
        topic: FacetValues = None,
        lang: FacetValues = None,
        source: FacetValues = None,
        date_from: Annotated[datetime | None, Query(alias="from")] = None,
        date_to: Annotated[datetime | None, Query(alias="to")] = None,
        sort: Literal["relevance", "date"] = "relevance",
        hide_duplicates: bool = True,
        size: Annotated[int, Query(ge=0, le=100)] = 10,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Any:
        if offset + size > _MAX_WINDOW:
            return error_response(400, "page_too_deep",
                                  f"offset + size must stay within {_MAX_WINDOW}")
        filters = {name: values for name, values in (
            ("people", person), ("organizations", org), ("places", place),
            ("countries", country), ("topics", topic), ("language", lang), ("source", source))
            if values}
        request = SearchRequest(q=q, filters=filters, date_from=date_from, date_to=date_to,
                                size=size, offset=offset, sort=sort,
                                hide_duplicates=hide_duplicates)
        es = state["es"]
        try:
            if not (date_from and date_to):
                bounds = await es.search(index=settings.index_alias, **bounds_body(request))
                apply_bounds(request, bounds.body)
            response = await es.search(index=settings.index_alias, **build_body(request))
        except BadRequestError as exc:
            return error_response(400, "bad_query", "the search engine rejected the query",
                                  _root_cause(exc))
        return parse_response(response.body)

    @app.get("/articles/{article_id}")
    async def get_article(article_id: str) -> Any:
        try:
            document = await state["es"].get(index=settings.index_alias, id=article_id)
        except NotFoundError:
            return error_response(404, "not_found", f"no article with id {article_id!r}")
        source = {k: v for k, v in document["_source"].items() if k not in ("stems", "minhash")}
        return {"id": document["_id"], **source}

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


def _root_cause(exc: BadRequestError) -> Any:
    body = exc.body if isinstance(exc.body, dict) else {}
    causes = body.get("error", {}).get("root_cause") or [{}]
    return causes[0].get("reason") or exc.message
