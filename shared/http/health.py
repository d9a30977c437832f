"""Health for every API: `GET /health/live` (the process answers: restart it if not),
`GET /health/ready` (each dependency's state: 200 when all are fine, else 503, so a load
balancer or Kubernetes sends it no traffic) and `GET /health`, the same as ready."""

# No `from __future__ import annotations`: FastAPI must see `Depends(checks)` as an object,
# and `checks` is a local name that a string annotation could not resolve.
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

# A dependency's state: "ok" (or Elasticsearch's "green"/"yellow") when usable, else a word
# saying what is wrong ("unreachable", "red").
HEALTHY = {"ok", "green", "yellow"}
HealthChecks = Callable[..., Awaitable[dict[str, str]]]


class Liveness(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    """`status`, then one key per dependency with its state (`kafka`, `elasticsearch` …)."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(description="ok, or degraded when a dependency is not usable (then 503)")


def health_router(checks: HealthChecks) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/live", summary="The process answers (liveness)")
    async def live() -> Liveness:
        return Liveness()

    @router.get("/health/ready", summary="Reachability of the services this API depends on (readiness)",
                response_model=Readiness, responses={503: {"description": "a dependency is unreachable"}})
    @router.get("/health", summary="The same as /health/ready", response_model=Readiness,
                responses={503: {"description": "a dependency is unreachable"}})
    async def ready(states: Annotated[dict[str, str], Depends(checks)]) -> JSONResponse:
        healthy = all(state in HEALTHY for state in states.values())
        return JSONResponse({"status": "ok" if healthy else "degraded", **states},
                            status_code=200 if healthy else 503)

    return router
