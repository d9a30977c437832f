"""One JSON error shape for every HTTP API: {"error": {"status", "code", "message", "details"}}.

Routes raise `ApiError` (or let validation fail); the handlers installed here answer it.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.text.clean import clean_strings

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error a client can act on, answered with its status, a stable code and a reason."""

    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, headers


def starting(message: str) -> ApiError:
    """503 while something the route needs is still loading (or unreachable): retry shortly."""
    return ApiError(503, "starting", message, headers={"Retry-After": "2"})


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details is not None:
        body["details"] = details
    # A reason may quote the input, and input may hold lone surrogates that UTF-8 cannot encode.
    return JSONResponse({"error": clean_strings(body)}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

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
