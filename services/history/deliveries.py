"""python -m services.history.deliveries: news.deliveries → each alert's delivery state in
the alert history (the deliverer keeps only what is in flight)."""

from __future__ import annotations

from typing import Any

from services.history.sink import DeliveryHistorySink, with_retention
from shared.contracts.history import deliveries_alias
from shared.contracts.topology import Stage, spec
from shared.runtime.stage import BatchBounds, run_stage
from shared.settings import get_settings

settings = get_settings()


async def make_sink(_producer: Any, _consumer: Any) -> DeliveryHistorySink:
    return await with_retention(DeliveryHistorySink, settings, deliveries_alias(settings))


if __name__ == "__main__":
    run_stage(spec(Stage.DELIVERY_HISTORY), make_sink,
              BatchBounds(settings.index_batch_size, 0.5, 0.05))
