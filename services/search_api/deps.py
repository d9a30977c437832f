"""Dependencies of the search API's routes, declared once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.search_api.news_index import NewsIndex
from shared.http.settings_dep import SettingsDep
from shared.runtime.kafka import kafka_reachable


def get_news_index(request: Request) -> NewsIndex:
    return request.app.state.news_index


NewsIndexDep = Annotated[NewsIndex, Depends(get_news_index)]


async def health_checks(index: NewsIndexDep, settings: SettingsDep) -> dict[str, str]:
    kafka_ok = await kafka_reachable(settings)
    return {"kafka": "ok" if kafka_ok else "unreachable", "elasticsearch": await index.status()}
