"""python -m services.history.deliveries: news.deliveries → each alert's delivery state in
the alert history (the deliverer keeps only what is in flight)."""

from __future__ import annotations

from services.history.sink import bounds, delivery_history_sink
from shared.contracts.topology import Stage, spec
from shared.runtime.stage import run_stage

if __name__ == "__main__":
    run_stage(spec(Stage.DELIVERY_HISTORY), delivery_history_sink, bounds)
