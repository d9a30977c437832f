"""Runs an API with uvicorn, logging in the one format the settings name (JSON lines too: the
access log then goes through the root handler instead of uvicorn's own text format)."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from shared.runtime.logs import configure_logging
from shared.settings import Settings


def serve(app: FastAPI, settings: Settings, host: str, port: int) -> None:
    configure_logging(settings.log_format)
    if settings.log_format == "json":
        uvicorn.run(app, host=host, port=port, log_config=None)
    else:
        uvicorn.run(app, host=host, port=port)
