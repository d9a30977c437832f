"""python -m services.history: news.alerts → the alert history in Elasticsearch (history
pages and feeds read it; the API never reads news.alerts from its start)."""

from __future__ import annotations

from typing import Any

from services.history.sink import AlertHistorySink, with_retention
from shared.contracts.history import alerts_alias
from shared.contracts.topology import Stage, spec
from shared.runtime.stage import BatchBounds, run_stage
from shared.settings import get_settings

settings = get_settings()


async def make_sink(_producer: Any, _consumer: Any) -> AlertHistorySink:
    return await with_retention(AlertHistorySink, settings, alerts_alias(settings))


run_stage(spec(Stage.HISTORY), make_sink, BatchBounds(settings.index_batch_size, 0.5, 0.05))
