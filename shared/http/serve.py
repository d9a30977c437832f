"""Runs an API with uvicorn, logging in the one format the settings name (JSON lines too: the
access log then goes through the root handler instead of uvicorn's own text format)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import uvicorn
from fastapi import FastAPI

from shared.runtime.logs import configure_logging
from shared.runtime.preflight import preflight_or_exit
from shared.settings import Settings, get_settings


def serve(app: FastAPI, settings: Settings, host: str, port: int) -> None:
    configure_logging(settings.log_format)
    if settings.log_format == "json":
        uvicorn.run(app, host=host, port=port, log_config=None)
    else:
        uvicorn.run(app, host=host, port=port)


def run_api(create_app: Callable[[Settings], FastAPI], api: Literal["ingest", "search", "monitor"],
            elasticsearch: bool, elasticsearch_may_be_away: bool = False) -> None:
    """`python -m services.<api>`: the settings read now, the connections checked (one line and
    an exit when they fail), then the app served on its host and port."""
    settings = get_settings()
    preflight_or_exit(settings, elasticsearch=elasticsearch,
                      elasticsearch_may_be_away=elasticsearch_may_be_away)
    serve(create_app(settings), settings, getattr(settings, f"{api}_host"), getattr(settings, f"{api}_port"))
