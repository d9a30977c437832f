"""What both HTTP APIs share: one JSON error shape, and health checks of the backends."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaClient
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    """Every error looks the same: {"error": {"status", "code", "message", "details"}}."""
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"location": ".".join(str(p) for p in err.get("loc", ())), "reason": err.get("msg")}
            for err in exc.errors()
        ]
        reasons = "; ".join(f"{d['location']}: {d['reason']}" for d in details)
        return error_response(422, "invalid_request", f"invalid request: {reasons}", details)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Still our error shape, and no internals: the log has the traceback.
        log.exception("unhandled error: %s", exc)
        return error_response(500, "internal", "something went wrong on our side")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail))


async def kafka_reachable(bootstrap: str, timeout: float = 3.0) -> bool:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        return bool(client.cluster.brokers())
    except Exception:
        return False
    finally:
        await client.close()


async def elasticsearch_status(es: AsyncElasticsearch) -> str | None:
    try:
        health = await es.cluster.health(timeout="2s")
        return str(health["status"])
    except Exception:
        return None
