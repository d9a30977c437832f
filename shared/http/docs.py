"""/docs for every API with Swagger UI served from this process, not a CDN: a machine without
internet (or a browser that blocks third-party scripts) still gets the interactive docs. The
assets come with the fastapi-offline package; the page is FastAPI's own."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from shared.http.pages import Page

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs-assets"


def install_docs(app: FastAPI) -> None:
    """Call on an app made with docs_url=None and redoc_url=None."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    html = get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title}: API docs",
                               swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                               swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                               swagger_favicon_url=f"{ASSETS_URL}/favicon.png")
    page = Page(bytes(html.body).decode())  # the pages' Content-Security-Policy

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return page.response()
