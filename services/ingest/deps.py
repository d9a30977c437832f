"""Dependencies of the ingest API's routes, declared once."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, Request

from shared.contracts.messages import RawArticle
from shared.http.settings_dep import SettingsDep
from shared.runtime.kafka import kafka_reachable


class Publisher(Protocol):
    async def publish(self, raw: RawArticle) -> None: ...


def get_publisher(request: Request) -> Publisher:
    return request.app.state.publisher


PublisherDep = Annotated[Publisher, Depends(get_publisher)]


async def health_checks(settings: SettingsDep) -> dict[str, str]:
    return {"kafka": "ok" if await kafka_reachable(settings.kafka_bootstrap) else "unreachable"}
