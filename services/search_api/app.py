"""The search API and page: a small factory that wires the routers, the error shape, the
Elasticsearch client and the alert store (created at start-up, closed at shutdown).

The subscriptions API (services/subscriptions) is served here too: one origin for the page,
its "Alert me" button and its live panel."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from services.search_api.cache import AnswerCache
from services.search_api.deps import health_checks
from services.search_api.news_index import NewsIndex
from services.search_api.query import BadRequest
from services.search_api.routes import articles, search, stories
from services.subscriptions import preview, stream
from services.subscriptions import routes as subscriptions
from services.subscriptions.destinations import Destinations
from services.subscriptions.history import AlertHistory
from services.subscriptions.store import AlertStore
from shared.contracts.alerts import ApiKey
from shared.http.api_keys import key_dependency
from shared.http.docs import install_docs
from shared.http.errors import error_response, install_error_handlers
from shared.http.hardening import harden
from shared.http.health import health_router
from shared.http.pages import Page
from shared.query import __doc__ as SYNTAX_HELP
from shared.runtime.elasticsearch import ensure_index, make_client
from shared.runtime.metrics import instrument_app
from shared.settings import Settings, get_settings


class StoreKeys:
    """The alert store's keys table, as the read-key check wants it (None until loaded)."""

    def __init__(self, store: AlertStore) -> None:
        self.store = store

    @property
    def keys(self) -> Mapping[str, ApiKey] | None:
        return self.store.keys.rows if self.store.ready.is_set() else None


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        es = make_client(settings)
        await ensure_index(es, settings)
        cache = AnswerCache(settings.search_cache_entries, settings.search_cache_bytes) \
            if settings.search_cache_entries else None
        app.state.news_index = NewsIndex(es, settings.index_alias, settings.search_max_concurrent,
                                         settings.search_queue_seconds, cache)
        app.state.alert_history = AlertHistory(es, settings)
        app.state.alert_store = AlertStore(settings)
        app.state.alert_store.start()
        app.state.destinations = Destinations(settings, app.state.alert_store)
        app.state.key_ring = StoreKeys(app.state.alert_store)
        yield
        await app.state.alert_store.stop()
        await es.close()

    app = FastAPI(title="newsflow search", version="0.3.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Full-text, faceted search over the processed news.\n\n"
                              f"Query syntax:\n```{SYNTAX_HELP}```")
    app.state.settings = settings
    install_error_handlers(app)
    install_docs(app)
    instrument_app(app, "search_api")
    harden(app, settings)

    @app.exception_handler(BadRequest)
    async def _bad_request(_: Request, exc: BadRequest) -> JSONResponse:
        details = {"position": exc.position} if exc.position is not None else None
        return error_response(400, exc.code, exc.reason, details)

    static = resources.files("services.search_api").joinpath("static")
    page, alerts_page = (Page(static.joinpath(name).read_text()) for name in ("index.html", "alerts.html"))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def search_page() -> HTMLResponse:
        return page.response()

    @app.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
    async def alerts_page_route() -> HTMLResponse:
        return alerts_page.response()

    # Reading is open unless NEWSFLOW_REQUIRE_READ_KEY=1; subscriptions always take their key.
    read_key = key_dependency("read", lambda s: s.require_read_key)
    for router in (search.router, articles.router, stories.router):
        app.include_router(router, dependencies=[read_key])
    for router in (preview.router, subscriptions.router, stream.router, health_router(health_checks)):
        app.include_router(router)
    return app
