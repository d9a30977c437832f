"""Dependencies of the ingest API's routes, declared once."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, Request

from shared.contracts.alerts import ApiKey
from shared.contracts.messages import RawArticle
from shared.http.api_keys import key_dependency
from shared.http.settings_dep import SettingsDep
from shared.runtime.kafka import kafka_reachable


class Publisher(Protocol):
    async def publish(self, raw: RawArticle) -> None: ...


def get_publisher(request: Request) -> Publisher:
    return request.app.state.publisher


PublisherDep = Annotated[Publisher, Depends(get_publisher)]
# The submitting key, with the ingest scope; None when NEWSFLOW_REQUIRE_INGEST_KEY=0.
IngestKeyDep = Annotated[ApiKey | None, key_dependency("ingest", lambda s: s.require_ingest_key)]


async def health_checks(settings: SettingsDep) -> dict[str, str]:
    return {"kafka": "ok" if await kafka_reachable(settings) else "unreachable"}
